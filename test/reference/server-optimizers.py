#!/usr/bin/env python3
"""Independent reference for test/unit/models/server-optimizers.test.ts.

Re-computes, with Python's own float (binary64) and struct for float32
rounding, the server-optimiser rules as Flower writes them
(flwr/server/strategy/fedavgm.py, fedadagrad.py, fedadam.py, fedyogi.py),
on the small inputs of the test, and prints every expected value as the
exact float32 the test writes down. Uses no code of this repository.

    python3 test/reference/server-optimizers.py
"""
import math
import struct


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def sign(x):
    return (x > 0) - (x < 0)


GLOBAL = [f32(0.5), f32(-0.25)]
# Round 1 and round 2 updates: (site, examples, delta); the mean is taken in site-id order.
ROUNDS = [
    [('b', 1, [0.1, -0.2]), ('a', 3, [0.3, 0.4])],
    [('a', 2, [-0.05, 0.25]), ('b', 2, [0.15, 0.05])],
]


def mean_delta(updates):
    ups = sorted(updates, key=lambda u: u[0])
    n = sum(u[1] for u in ups)
    out = []
    for j in range(len(GLOBAL)):
        acc = 0.0
        for _, k, d in ups:
            acc = acc + k * f32(d[j])
        out.append(acc / n)
    return out


def power(base, t):
    p = 1.0
    for _ in range(t):
        p *= base
    return p


def fedavgm(lr, mu):
    g, m_prev, out = GLOBAL, [0.0, 0.0], []
    for updates in ROUNDS:
        d = mean_delta(updates)
        m = [mu * m_prev[j] + -d[j] for j in range(2)]
        g = [f32(g[j] - lr * m[j]) for j in range(2)]
        m_prev = [f32(x) for x in m]
        out.append((g, m_prev))
    return out


def fedadagrad(eta, tau):
    g, v_prev, out = GLOBAL, [0.0, 0.0], []
    for updates in ROUNDS:
        d = mean_delta(updates)
        v = [v_prev[j] + d[j] * d[j] for j in range(2)]
        g = [f32(g[j] + (eta * d[j]) / (math.sqrt(v[j]) + tau)) for j in range(2)]
        v_prev = [f32(x) for x in v]
        out.append((g, v_prev))
    return out


def adaptive(eta, b1, b2, tau, yogi):
    g, m_prev, v_prev, out = GLOBAL, [0.0, 0.0], [0.0, 0.0], []
    for r, updates in enumerate(ROUNDS, start=1):
        d = mean_delta(updates)
        m = [b1 * m_prev[j] + (1 - b1) * d[j] for j in range(2)]
        if yogi:
            v = [v_prev[j] - (1.0 - b2) * (d[j] * d[j]) * sign(v_prev[j] - d[j] * d[j]) for j in range(2)]
            rate = eta
        else:
            v = [b2 * v_prev[j] + (1 - b2) * (d[j] * d[j]) for j in range(2)]
            rate = eta * math.sqrt(1 - power(b2, r + 1)) / (1 - power(b1, r + 1))
        g = [f32(g[j] + (rate * m[j]) / (math.sqrt(v[j]) + tau)) for j in range(2)]
        m_prev, v_prev = [f32(x) for x in m], [f32(x) for x in v]
        out.append((g, m_prev, v_prev))
    return out


def show(name, rounds):
    for r, parts in enumerate(rounds, start=1):
        print(name, 'round', r, ' '.join(repr(list(p)) for p in parts))


show('fedavgm(lr=1, mu=0.9)', fedavgm(1.0, 0.9))
show('fedavgm(lr=0.5, mu=0.5)', fedavgm(0.5, 0.5))
show('fedadagrad(eta=0.1, tau=1e-9)', fedadagrad(0.1, 1e-9))
show('fedadam(eta=0.1, b1=0.9, b2=0.99, tau=1e-9)', adaptive(0.1, 0.9, 0.99, 1e-9, False))
show('fedyogi(eta=0.01, b1=0.9, b2=0.99, tau=1e-3)', adaptive(0.01, 0.9, 0.99, 1e-3, True))
