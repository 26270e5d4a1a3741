/**
 * Selection of the TF.js backend, once per process. Every TF.js entry point
 * of `models/` awaits `initBackend()` first.
 *
 * `auto` takes the fastest one that loads:
 * 1. `tensorflow` — the native binding `@tensorflow/tfjs-node`. It is not a
 *    dependency (a large native download); install it to accelerate training
 *    and it is used.
 * 2. `wasm` — `@tensorflow/tfjs-backend-wasm`, a dependency; loads its
 *    `.wasm` binaries from the package's `dist/` folder.
 * 3. `cpu` — pure JavaScript, always present.
 *
 * The `FEDLINEAGE_TF_BACKEND` environment variable overrides the argument
 * (handy to compare backends without code changes). An explicitly named
 * backend that cannot load is an error, never a silent fallback.
 *
 * Backends differ in float rounding, so training results are reproducible
 * per backend, not across backends. Nothing audited depends on that: the
 * audit replays aggregation (pure core), not training.
 */
import * as tf from '@tensorflow/tfjs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { BackendUnavailableError } from './errors.ts'
import { TF_BACKEND_ENV } from './constants.ts'

export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tensorflow'

const PREFERENCES: readonly BackendPreference[] = ['auto', 'wasm', 'cpu', 'tensorflow']

// In a variable so TypeScript neither resolves nor type-checks the optional package.
const TFJS_NODE_SPECIFIER = '@tensorflow/tfjs-node'

let active: string | undefined
/** Serialises initialisations so concurrent callers never race two `setBackend` calls. */
let queue: Promise<unknown> = Promise.resolve()

function resolvePreference(preferred: BackendPreference): BackendPreference {
  const fromEnv = process.env[TF_BACKEND_ENV]
  const choice = fromEnv === undefined || fromEnv === '' ? preferred : fromEnv
  if (!(PREFERENCES as readonly string[]).includes(choice)) {
    throw new BackendUnavailableError(`${TF_BACKEND_ENV}=${choice}: unknown backend, want one of ${PREFERENCES.join(', ')}`, choice)
  }
  return choice as BackendPreference
}

async function activate(name: string): Promise<void> {
  // setBackend resolves false (with a console warning) when the backend's factory fails.
  if (!(await tf.setBackend(name))) throw new BackendUnavailableError(`TF.js backend "${name}" failed to initialise`, name)
  await tf.ready()
}

async function loadTensorflow(): Promise<void> {
  try {
    await import(TFJS_NODE_SPECIFIER)
  } catch (cause) {
    throw new BackendUnavailableError(`backend "tensorflow": ${TFJS_NODE_SPECIFIER} is not installed or failed to load`, 'tensorflow', { cause })
  }
  await activate('tensorflow')
}

async function loadWasm(): Promise<void> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm')
    const require = createRequire(import.meta.url)
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))
    wasm.setWasmPaths(`${dir}/`)
  } catch (cause) {
    throw new BackendUnavailableError('backend "wasm": @tensorflow/tfjs-backend-wasm failed to load', 'wasm', { cause })
  }
  await activate('wasm')
}

async function load(choice: BackendPreference): Promise<void> {
  switch (choice) {
    case 'tensorflow':
      return loadTensorflow()
    case 'wasm':
      return loadWasm()
    case 'cpu':
      return activate('cpu')
    case 'auto':
      for (const attempt of [loadTensorflow, loadWasm]) {
        try {
          return await attempt()
        } catch (error) {
          // Expected when the optional accelerator is absent; anything else is a real failure.
          if (!(error instanceof BackendUnavailableError)) throw error
        }
      }
      return activate('cpu')
  }
}

/**
 * Selects and initialises the TF.js backend; resolves to its name
 * (`tensorflow`, `wasm` or `cpu`). Idempotent: `auto`, or the name of the
 * active backend, returns the active one without reloading; naming another
 * backend switches to it. Throws `BackendUnavailableError` when an explicitly
 * named backend cannot load.
 */
export function initBackend(preferred: BackendPreference = 'auto'): Promise<string> {
  const run = queue.then(async () => {
    const choice = resolvePreference(preferred)
    if (active !== undefined && (choice === 'auto' || choice === active)) return active
    // Silences TF.js's console notices, chiefly the "install tfjs-node" banner the cpu backend prints on first use.
    tf.enableProdMode()
    await load(choice)
    active = tf.getBackend()
    return active
  })
  queue = run.catch(() => undefined)
  return run
}

/** Name of the active backend, or undefined before `initBackend` resolved. */
export function backendName(): string | undefined {
  return active
}
