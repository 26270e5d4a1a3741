#!/usr/bin/env python3
"""Independent reference for test/unit/models/rdp-accountant.test.ts: the RDP
of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar, Zhang 2019,
sections 3.3 and 3.4) and the improved RDP -> (eps, delta) conversion
(Balle et al. 2020), written from the papers with scipy's binom and
log_ndtr, using no code of this repository.

    python3 test/reference/rdp-accountant.py
"""
import math

import numpy as np
from scipy import special

ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


def log_add(a, b):
    hi, lo = max(a, b), min(a, b)
    return hi if lo == -np.inf else math.log1p(math.exp(lo - hi)) + hi


def log_sub(a, b):
    if b == -np.inf:
        return a
    if a == b:
        return -np.inf
    return math.log(math.expm1(a - b)) + b


def log_erfc(x):
    return math.log(2) + special.log_ndtr(-x * 2**0.5)


def log_a(q, sigma, alpha):
    if float(alpha).is_integer():
        alpha = int(alpha)
        out = -np.inf
        for i in range(alpha + 1):
            out = log_add(out, math.log(special.binom(alpha, i)) + i * math.log(q) + (alpha - i) * math.log(1 - q) + (i * i - i) / (2 * sigma**2))
        return out
    a0, a1 = -np.inf, -np.inf
    z0 = sigma**2 * math.log(1 / q - 1) + 0.5
    i = 0
    while True:
        coef = special.binom(alpha, i)
        lc = math.log(abs(coef))
        j = alpha - i
        s0 = lc + i * math.log(q) + j * math.log(1 - q) + (i * i - i) / (2 * sigma**2) + math.log(0.5) + log_erfc((i - z0) / (math.sqrt(2) * sigma))
        s1 = lc + j * math.log(q) + i * math.log(1 - q) + (j * j - j) / (2 * sigma**2) + math.log(0.5) + log_erfc((z0 - j) / (math.sqrt(2) * sigma))
        if coef > 0:
            a0, a1 = log_add(a0, s0), log_add(a1, s1)
        else:
            a0, a1 = log_sub(a0, s0), log_sub(a1, s1)
        i += 1
        if max(s0, s1) < -30:
            break
    return log_add(a0, a1)


def rdp(q, sigma, alpha):
    if q == 1:
        return alpha / (2 * sigma**2)
    return log_a(q, sigma, alpha) / (alpha - 1)


def epsilon(q, sigma, steps, delta, orders=ORDERS):
    best = (np.inf, None)
    for a in orders:
        r = rdp(q, sigma, a) * steps
        if delta**2 + math.expm1(-r) > 0:
            e = 0.0
        elif a > 1.01:
            e = r + math.log1p(-1 / a) - math.log(delta * a) / (a - 1)
        else:
            e = np.inf
        if e < best[0]:
            best = (e, a)
    return max(0.0, best[0]), best[1]


if __name__ == '__main__':
    # Abadi et al. 2016's MNIST setting (TF Privacy's tutorial): N = 60000, batch 256, sigma 1.1, 60 epochs, delta 1e-5.
    for (q, sigma, steps, delta) in [(256 / 60000, 1.1, 60 * 60000 // 256, 1e-5), (0.01, 1.0, 1000, 1e-5), (0.1, 2.0, 100, 1e-6), (0.5, 5.0, 50, 1e-5)]:
        e, a = epsilon(q, sigma, steps, delta)
        print(f'q={q!r} sigma={sigma} steps={steps} delta={delta}: eps={e!r} order={a}')
    for (q, sigma, a) in [(0.01, 2.5, 1.5), (0.2, 0.8, 3.7), (0.05, 1.3, 17)]:
        print(f'rdp q={q} sigma={sigma} order={a}: {rdp(q, sigma, a)!r}')
