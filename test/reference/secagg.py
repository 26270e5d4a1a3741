#!/usr/bin/env python3
"""Independent reference for test/unit/protocol/secagg/reference.test.ts:
PROTOCOL.md's secure-aggregation text (Secure aggregation (`secagg`)) written
from the document, using no code of this repository: the HKDF infos and pair
secrets, the AES-CTR mask, the fixed point, the graph rule, one site's masked
input, and Lagrange interpolation over GF(2^8).

    python3 test/reference/secagg.py

Needs `cryptography` (X25519, HKDF, AES); the CBOR of the infos is written by
hand (an array of text strings and one small unsigned integer).
"""
import hashlib
import math
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

M32 = 0xFFFFFFFF

# --- canonical CBOR of [text, text, uint, text, text] ---------------------------------


def cbor_head(major, n):
    if n < 24:
        return bytes([(major << 5) | n])
    if n < 0x100:
        return bytes([(major << 5) | 24, n])
    if n < 0x10000:
        return bytes([(major << 5) | 25]) + n.to_bytes(2, 'big')
    return bytes([(major << 5) | 26]) + n.to_bytes(4, 'big')


def cbor_text(s):
    b = s.encode()
    return cbor_head(3, len(b)) + b


def info(label, study, rnd, a, b):
    lo, hi = sorted([a, b], key=lambda s: s.encode('utf-16-be'))
    return cbor_head(4, 5) + cbor_text(label) + cbor_text(study) + cbor_head(0, rnd) + cbor_text(lo) + cbor_text(hi)


def x25519(sk, pk):
    return X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(pk))


def public(sk):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def pair_secret(my_sk, their_pk, inf):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=inf).derive(x25519(my_sk, their_pk))


def prg(seed, words):
    enc = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    stream = enc.update(bytes(4 * words))
    return list(struct.unpack(f'<{words}I', stream))


# --- fixed point -----------------------------------------------------------------------


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def quantize(values, w, c, q):
    s = (q / 2 - 1) / c
    out = []
    for x in values:
        v = min(c, max(-c, f32(x) * w)) * s
        out.append(round(v) & M32)  # Python's round() is round-half-even on floats
    return out


# --- graph -----------------------------------------------------------------------------


def imul(a, b):
    return (a * b) & M32


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


def graph(participants, k, seed):
    ids = sorted(participants, key=lambda s: s.encode('utf-16-be'))
    n = len(ids)
    if k >= n - 1:
        return {u: [v for v in ids if v != u] for u in ids}
    if k % 2 == 1 and n % 2 == 1:
        k += 1
    order = list(range(n))
    rnd = mulberry32(seed)
    for i in range(n - 1, 0, -1):
        j = math.floor(rnd() * (i + 1))
        order[i], order[j] = order[j], order[i]
    cycle = [ids[i] for i in order]
    out = {}
    for pos, u in enumerate(cycle):
        around = set()
        for off in range(1, k // 2 + 1):
            around.add(cycle[(pos + off) % n])
            around.add(cycle[(pos - off) % n])
        if k % 2 == 1:
            around.add(cycle[(pos + n // 2) % n])
        out[u] = sorted(around, key=lambda s: s.encode('utf-16-be'))
    return out


# --- GF(2^8), x^8 + x^4 + x^3 + x + 1 ----------------------------------------------------


def gf_mul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return r


def gf_inv(a):
    return next(x for x in range(1, 256) if gf_mul(a, x) == 1)


def combine(shares):
    xs = [s[-1] for s in shares]
    out = []
    for byte in range(len(shares[0]) - 1):
        acc = 0
        for i, s in enumerate(shares):
            basis = 1
            for j, xj in enumerate(xs):
                if j != i:
                    basis = gf_mul(basis, gf_mul(xj, gf_inv(xs[i] ^ xj)))
            acc ^= gf_mul(s[byte], basis)
        out.append(acc)
    return bytes(out)


def main():
    study, rnd = 'heart-demo', 3
    alice = bytes.fromhex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    bob = bytes.fromhex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
    mask_info = info('fedlineage/secagg/v1/mask', study, rnd, 'site-b', 'site-a')
    enc_info = info('fedlineage/secagg/v1/enc', study, rnd, 'site-a', 'site-b')
    s_ab = pair_secret(alice, public(bob), mask_info)
    print('maskInfo   ', mask_info.hex())
    print('encInfo    ', enc_info.hex())
    print('mask secret', s_ab.hex())
    print('enc secret ', pair_secret(alice, public(bob), enc_info).hex())
    words = prg(s_ab, 1000)
    print('prg[0:4]   ', [hex(w) for w in words[:4]])
    print('prg sha256 ', hashlib.sha256(struct.pack('<1000I', *words)).hexdigest())

    print('quantize   ', quantize([1.0, -1.0, 0.3, -7.9999, 100.0, 1e-7, -2.5e-6], 0.37, 8, 2**22))

    g = graph([f's{i:02d}' for i in range(10)], 3, 12345)
    print('graph k=3  ', g)
    g = graph([f's{i:02d}' for i in range(9)], 4, 99)
    print('graph k=4  ', g)

    # One site's masked input: site "site-a" with secrets cSk = 0x11…, sSk = 0x22…, b = 0x33…,
    # neighbours "site-b" (sSk 0x44…) and "site-c" (sSk 0x55…), both of which sent it shares.
    sk = {'site-a': bytes([0x22] * 32), 'site-b': bytes([0x44] * 32), 'site-c': bytes([0x55] * 32)}
    b_a = bytes([0x33] * 32)
    x = [5, M32, 123456789, 0, 2**31]
    y = list(x)
    for i, m in enumerate(prg(b_a, len(x))):
        y[i] = (y[i] + m) & M32
    for v in ['site-b', 'site-c']:
        s = pair_secret(sk['site-a'], public(sk[v]), info('fedlineage/secagg/v1/mask', study, rnd, 'site-a', v))
        sign = 1 if 'site-a' < v else -1
        for i, m in enumerate(prg(s, len(x))):
            y[i] = (y[i] + sign * m) & M32
    print('masked     ', y)

    shares = [bytes.fromhex('0102030405') + bytes([7]), bytes.fromhex('a0b0c0d0e0') + bytes([200]), bytes.fromhex('ffee00dd11') + bytes([33])]
    print('combine    ', combine(shares).hex())


main()
