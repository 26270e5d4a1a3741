"""Independent reference for test/unit/models/robust-aggregate.test.ts.

Plain Python 3 stdlib (no numpy, none of the TypeScript under test): the
definitions of Flower's aggregate_median, aggregate_trimmed_avg, aggregate_krum
and aggregate_bulyan, applied to deltas, with ties to the lowest site id in
code-unit order and float32 rounding once at the end (struct). Run:

    python3 test/unit/models/robust-aggregate.reference.py

and compare with the numbers written in the test.
"""
import math
import struct


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def sq(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b))


def krum_scores(points, f):
    """points: list of (site, vector) sorted by site; returns {site: (score, rank)}."""
    n = len(points)
    closest = max(1, n - f - 2)
    scores = []
    for i, (s, v) in enumerate(points):
        d = sorted(sq(v, w) for j, (_, w) in enumerate(points) if j != i)
        scores.append((sum(d[:closest]), i, s))
    order = sorted(scores)
    return {s: (score, order.index((score, i, s)) + 1) for score, i, s in scores}


def bulyan(points, f):
    theta = len(points) - 2 * f
    remaining = list(points)
    picked = []
    last = None
    for _ in range(theta):
        last = krum_scores(remaining, f)
        best = min(remaining, key=lambda p: (last[p[0]][1]))
        picked.append(best)
        remaining = [p for p in remaining if p[0] != best[0]]
    picked.sort()
    beta = theta - 2 * f
    out = []
    for j in range(len(points[0][1])):
        vals = [v[j] for _, v in picked]
        med = median(vals)
        order = sorted(range(len(vals)), key=lambda i: (abs(vals[i] - med), i))
        out.append(sum(vals[i] for i in order[:beta]) / beta)
    return out, [p[0] for p in picked], {s: last[s] for s, _ in remaining}


G = [0.0, 1.0, -1.0]
D4 = {'a': [1, -2, 0.5], 'b': [3, 0, 0.5], 'c': [2, 10, -1], 'd': [-4, 1, 0.25]}
print('median of 4:', [f32(g + median([D4[s][j] for s in 'abcd'])) for j, g in enumerate(G)])
print('median of 3:', [f32(g + median([D4[s][j] for s in 'abc'])) for j, g in enumerate(G)])

T5 = [100, 1, 2, 3, -50]
print('trimmed 0.2 of 5:', sum(sorted(T5)[1:4]) / 3)
T4 = [4, -1, 2, 9]
print('trimmed 0.2 of 4 (k=0):', sum(T4) / 4, 'trimmed 0.3 of 4 (k=1):', sum(sorted(T4)[1:3]) / 2)

K = [('Z-clinic', [1, 0]), ('a-clinic', [0, 0]), ('b-clinic', [0, 1]), ('c-clinic', [1, 1]), ('e-attacker', [10, 10])]
print('krum f=1:', krum_scores(K, 1))

B = [('s1', [0, 0]), ('s2', [1, 0.5]), ('s3', [2, -0.5]), ('s4', [0.5, 1]), ('s5', [1.5, 0]), ('s6', [-0.5, 0.25]), ('s7', [20, -20])]
out, picked, left = bulyan(B, 1)
print('bulyan f=1:', [f32(x) for x in out], 'picked', picked, 'left out', left)

s = 1.4826 * 0.25
print('norm z: 10 ->', 8.75 / s, ' 0.75 ->', 0.5 / s, ' zero ->', 1 / s)
print('cosine [1,1] to [1,0]:', 1 / math.sqrt(2))
