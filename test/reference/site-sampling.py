#!/usr/bin/env python3
"""Independent reference for the client-sampling vector of
test/unit/protocol/strategy-options.test.ts: PROTOCOL.md's sampling rule
(SHA-256 sub-seed, Mulberry32, Fisher-Yates from the top) written from the
document, using no code of this repository.

    python3 test/reference/site-sampling.py
"""
import hashlib
import math

M32 = 0xFFFFFFFF


def imul(a, b):
    r = (a * b) & M32
    return r


def mulberry32(seed):
    state = seed & M32

    def nxt():
        nonlocal state
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return nxt


def sample(sites, k, round_seed):
    d = hashlib.sha256(f'fedlineage/sampling/{round_seed}'.encode()).digest()
    seed = int.from_bytes(d[:4], 'big')
    order = list(range(len(sites)))
    rnd = mulberry32(seed)
    for i in range(len(sites) - 1, 0, -1):
        j = math.floor(rnd() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return sorted(sites[i] for i in order[:k]), seed


SITES = sorted(f'site-{c}' for c in 'abcdefghij')
for rs in (12345, 4000000000):
    print(rs, sample(SITES, 3, rs))
