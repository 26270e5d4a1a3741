"""numpy's FedAvg on the inputs bench/aggregate.ts wrote, timed in the same run.

Reads one JSON object on stdin:
  {"inputPath", "parameters", "counts": [n_i in site order], "runs", "warmupRuns", "outDir"}
where inputPath holds float32 little-endian values: the global model, then each
site's delta, each `parameters` long, sites in siteId order.

Times three formulations and writes each one's output (float32 LE) to outDir:
  f32-inplace     acc = 0 (float32); acc += n_i * d_i; acc /= N; acc += global
                  (the literal expression: n_i * d_i allocates a temporary)
  f32-preallocated  the same float32 arithmetic with one reused temporary (np.multiply(..., out=))
  f64-site-order  acc = 0 (float64); acc += float64(d_i) * n_i in site order;
                  float32(float64(global) + acc / N): the contract of models/core/aggregate.ts,
                  so its bytes should equal ours.
Prints one JSON object on stdout: versions and, per formulation, median/min/max ms.
"""

import json
import sys
import time

import numpy as np


def timed(run, runs, warmup):
    for _ in range(warmup):
        run()
    samples = []
    out = None
    for _ in range(runs):
        started = time.perf_counter()
        out = run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    mid = len(samples) // 2
    median = samples[mid] if len(samples) % 2 == 1 else (samples[mid - 1] + samples[mid]) / 2
    return out, {"medianMs": median, "minMs": samples[0], "maxMs": samples[-1]}


def main():
    job = json.load(sys.stdin)
    p = job["parameters"]
    counts = job["counts"]
    total = sum(counts)
    values = np.fromfile(job["inputPath"], dtype="<f4")
    if values.size != p * (1 + len(counts)):
        raise SystemExit(f"{job['inputPath']}: {values.size} values, want {p * (1 + len(counts))}")
    glob = values[:p]
    deltas = [values[p * (i + 1) : p * (i + 2)] for i in range(len(counts))]

    def f32_inplace():
        acc = np.zeros(p, dtype=np.float32)
        for n, d in zip(counts, deltas):
            acc += n * d
        acc /= total
        acc += glob
        return acc

    def f32_preallocated():
        acc = np.zeros(p, dtype=np.float32)
        tmp = np.empty(p, dtype=np.float32)
        for n, d in zip(counts, deltas):
            np.multiply(d, np.float32(n), out=tmp)
            acc += tmp
        acc /= np.float32(total)
        acc += glob
        return acc

    def f64_site_order():
        acc = np.zeros(p, dtype=np.float64)
        tmp = np.empty(p, dtype=np.float64)
        for n, d in zip(counts, deltas):
            # Cast first, then multiply: float64(d) * n, exact for n < 2^29, as in models/core.
            np.multiply(d, np.float64(n), out=tmp, dtype=np.float64)
            acc += tmp
        return (glob.astype(np.float64) + acc / np.float64(total)).astype(np.float32)

    results = {}
    for name, run in (("f32-inplace", f32_inplace), ("f32-preallocated", f32_preallocated), ("f64-site-order", f64_site_order)):
        out, timing = timed(run, job["runs"], job["warmupRuns"])
        out.astype("<f4").tofile(f"{job['outDir']}/{name}.f32")
        results[name] = timing
    json.dump({"python": sys.version.split()[0], "numpy": np.__version__, "results": results}, sys.stdout)


main()
