/**
 * Runs numpy's FedAvg (bench/aggregate-numpy.py) on the same inputs as the
 * TypeScript bench, in the same run: writes them to a temporary file, spawns a
 * Python that has numpy, and reads back its timings and output bytes.
 *
 * Python is the first of $FEDLINEAGE_BENCH_PYTHON, Debian's /usr/bin/python3
 * and `python3` on PATH that imports numpy. With none, it returns the reason
 * and how to install numpy, and the bench skips the column instead of failing.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const NUMPY_FORMULATIONS = ['f32-inplace', 'f32-preallocated', 'f64-site-order'] as const
export type NumpyFormulation = (typeof NUMPY_FORMULATIONS)[number]

export interface NumpyTiming {
  readonly medianMs: number
  readonly minMs: number
  readonly maxMs: number
}

export interface NumpyRun {
  readonly python: string
  readonly pythonVersion: string
  readonly numpy: string
  readonly timings: Readonly<Record<NumpyFormulation, NumpyTiming>>
  /** Each formulation's output, float32, flat over the model's tensors. */
  readonly outputs: Readonly<Record<NumpyFormulation, Float32Array>>
}

export interface NumpyInputs {
  /** The global model's values, flat in tensor order. */
  readonly global: Float32Array
  /** Each site's delta, flat in tensor order, sites in siteId order. */
  readonly deltas: readonly Float32Array[]
  readonly counts: readonly number[]
  readonly runs: number
  readonly warmupRuns: number
}

export const NUMPY_INSTALL_HINT = "install numpy for Debian's python3 with `sudo apt-get install python3-numpy`, or point FEDLINEAGE_BENCH_PYTHON at a Python that has it"

/** The first candidate Python that imports numpy, or null. */
export function findNumpyPython(): string | null {
  const candidates = [process.env.FEDLINEAGE_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => c !== undefined && c !== '')
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' })
    if (probe.status === 0) return python
  }
  return null
}

/** numpy's three FedAvg formulations on `inputs`, or `{ skipped }` saying why not. */
export function runNumpyFedAvg(inputs: NumpyInputs): NumpyRun | { readonly skipped: string } {
  const python = findNumpyPython()
  if (python === null) return { skipped: `no Python with numpy found: ${NUMPY_INSTALL_HINT}` }
  const dir = mkdtempSync(join(tmpdir(), 'fedlineage-bench-numpy-'))
  try {
    const parameters = inputs.global.length
    const inputPath = join(dir, 'inputs.f32')
    const all = new Float32Array(parameters * (1 + inputs.deltas.length))
    all.set(inputs.global)
    inputs.deltas.forEach((d, i) => all.set(d, parameters * (i + 1)))
    // Float32Array bytes are little-endian on every platform Node runs on here (x86-64, arm64).
    writeFileSync(inputPath, new Uint8Array(all.buffer))
    const job = { inputPath, parameters, counts: inputs.counts, runs: inputs.runs, warmupRuns: inputs.warmupRuns, outDir: dir }
    const script = fileURLToPath(new URL('../aggregate-numpy.py', import.meta.url))
    const run = spawnSync(python, [script], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 20 })
    if (run.status !== 0) return { skipped: `${python} ${script} exited ${run.status}: ${run.stderr.trim().split('\n').at(-1)}` }
    let report: { python: string; numpy: string; results: Record<NumpyFormulation, NumpyTiming> }
    try {
      report = JSON.parse(run.stdout)
    } catch (err) {
      return { skipped: `${python} ${script} printed no JSON report (${(err as Error).message}): ${run.stdout.slice(0, 200)}` }
    }
    const read = (name: NumpyFormulation): Float32Array => {
      const bytes = readFileSync(join(dir, `${name}.f32`))
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
    }
    return {
      python,
      pythonVersion: report.python,
      numpy: report.numpy,
      timings: report.results,
      outputs: { 'f32-inplace': read('f32-inplace'), 'f32-preallocated': read('f32-preallocated'), 'f64-site-order': read('f64-site-order') },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
