/**
 * Sends a log's checkpoints to its witnesses and keeps their cosignatures
 * beside the checkpoints (`Ledger.addCosignature`). Used by the
 * coordinator: `submit` is called with every checkpoint it signs and never
 * waits, so a slow or absent witness never holds up a round.
 *
 * One worker per witness sends only the newest checkpoint (older ones it
 * has not reached are skipped: a witness cosigns the newest tree, and a
 * consistency proof spans any gap). It remembers the witness's size, starts
 * from 0, and on a 409 resends from the size the witness reports. Failures
 * (no answer, 5xx) are retried with exponential backoff up to `maxRetryMs`;
 * refusals that a retry cannot fix (403, 404, 422, a 409 above our size,
 * or one at our size with another root) wait for the next checkpoint.
 */
import { EventEmitter } from 'node:events'
import { readCheckpoint, type SignedCheckpoint } from '../core/checkpoint.ts'
import type { NoteVerifierKey } from '../core/signed-note.ts'
import { WitnessRefusedError } from '../core/witness-errors.ts'
import type { Ledger } from '../ledger.ts'
import { addCheckpoint } from './client.ts'
import type { WitnessLogger } from './server.ts'

/** Per-request timeout, first retry delay and longest retry delay, when not given. */
export const WITNESS_SUBMIT_DEFAULTS = { timeoutMs: 5_000, retryMs: 500, maxRetryMs: 30_000 } as const
/** A 409 loop (the witness's size moving under us) is cut after this many resends per checkpoint. */
const MAX_CONFLICT_RESENDS = 4

export interface SubmittedWitness {
  /** The witness's name in the policy (for logs and events). */
  readonly name: string
  readonly key: NoteVerifierKey
  /** Its submission prefix. */
  readonly url: string
}

export interface WitnessSubmitterInit {
  readonly witnesses: readonly SubmittedWitness[]
  readonly timeoutMs?: number
  readonly retryMs?: number
  readonly maxRetryMs?: number
  readonly logger?: WitnessLogger
}

export interface WitnessSubmitterEvents {
  /** `witness` cosigned the checkpoint of `size`, and its cosignature is stored. */
  cosigned: [witness: string, size: number]
  /** `witness` did not cosign the checkpoint of `size` (a refusal, or a failure that will be retried). */
  failed: [witness: string, size: number, error: Error]
}

/** The narrow part of the ledger the submitter uses. */
export type WitnessSubmitterLedger = Pick<Ledger, 'consistencyProof' | 'addCosignature'>

export class WitnessSubmitter extends EventEmitter<WitnessSubmitterEvents> {
  readonly #workers: Worker[]
  #closed = false

  constructor(ledger: WitnessSubmitterLedger, init: WitnessSubmitterInit) {
    super()
    const settings = { ...WITNESS_SUBMIT_DEFAULTS, ...init }
    const context: WorkerContext = {
      ledger,
      settings,
      closed: () => this.#closed,
      cosigned: (witness, size) => this.emit('cosigned', witness, size),
      failed: (witness, size, error) => this.emit('failed', witness, size, error),
    }
    this.#workers = init.witnesses.map((w) => new Worker(w, context))
  }

  /** Queues `checkpoint` (stored in the ledger) for every witness; returns at once. */
  submit(checkpoint: SignedCheckpoint): void {
    if (this.#closed) return
    const size = readCheckpoint(checkpoint).size
    for (const w of this.#workers) w.offer(checkpoint, size)
  }

  /** Stops sending; resolves when requests under way have ended (they are aborted). */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#workers.map((w) => w.stop()))
  }
}

/** What a worker shares with its submitter. */
interface WorkerContext {
  readonly ledger: WitnessSubmitterLedger
  readonly settings: { readonly timeoutMs: number; readonly retryMs: number; readonly maxRetryMs: number; readonly logger?: WitnessLogger | undefined }
  closed(): boolean
  cosigned(witness: string, size: number): void
  failed(witness: string, size: number, error: Error): void
}

class Worker {
  readonly #w: SubmittedWitness
  readonly #ctx: WorkerContext
  #pending: { checkpoint: SignedCheckpoint; size: number } | undefined
  /** The witness's size as we last learned it (0 until it tells us otherwise). */
  #witnessSize = 0
  #running: Promise<void> | undefined
  #wake: (() => void) | undefined
  readonly #stop = new AbortController()

  constructor(w: SubmittedWitness, ctx: WorkerContext) {
    this.#w = w
    this.#ctx = ctx
  }

  offer(checkpoint: SignedCheckpoint, size: number): void {
    if (this.#pending !== undefined && this.#pending.size >= size) return
    this.#pending = { checkpoint, size }
    this.#wake?.()
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined
    })
  }

  async stop(): Promise<void> {
    this.#stop.abort()
    this.#wake?.()
    await this.#running
  }

  async #run(): Promise<void> {
    const { ledger, settings: init, closed } = this.#ctx
    let delay = init.retryMs
    while (this.#pending !== undefined && !closed()) {
      const { checkpoint, size } = this.#pending
      try {
        await this.#send(ledger, checkpoint, size, init.timeoutMs)
        delay = init.retryMs
        if (this.#pending?.size === size) this.#pending = undefined
      } catch (err) {
        if (this.#stop.signal.aborted) return
        const error = err as Error
        this.#ctx.failed(this.#w.name, size, error)
        const retryable = err instanceof WitnessRefusedError && (err.status === 0 || err.status >= 500 || err.status === 429)
        init.logger?.warn({ witness: this.#w.name, url: this.#w.url, size, err: error.message, retry: retryable }, 'witness did not cosign the checkpoint')
        if (!retryable) {
          // Nothing a resend fixes: wait for a newer checkpoint.
          if (this.#pending?.size === size) this.#pending = undefined
          continue
        }
        await this.#sleep(delay)
        delay = Math.min(delay * 2, init.maxRetryMs)
      }
    }
  }

  async #send(ledger: WitnessSubmitterLedger, checkpoint: SignedCheckpoint, size: number, timeoutMs: number): Promise<void> {
    for (let attempt = 0; attempt <= MAX_CONFLICT_RESENDS; attempt++) {
      const oldSize = this.#witnessSize
      if (oldSize > size) throw new WitnessRefusedError(`witness ${this.#w.name} holds size ${oldSize}, above this checkpoint's ${size}`, 409)
      const proof = oldSize === 0 || oldSize === size ? [] : await ledger.consistencyProof(oldSize, size)
      const out = await addCheckpoint({ url: this.#w.url, witness: this.#w.key, oldSize, proof, checkpoint, timeoutMs, signal: this.#stop.signal })
      if (this.#stop.signal.aborted) return
      if (out.kind === 'conflict') {
        if (out.size === oldSize) throw new WitnessRefusedError(`witness ${this.#w.name} holds another tree of size ${oldSize} than this log's: a split view, or a witness that lost its state`, 409)
        this.#witnessSize = out.size
        continue
      }
      this.#witnessSize = size
      for (const cosig of out.cosignatures) await ledger.addCosignature(size, cosig)
      this.#ctx.cosigned(this.#w.name, size)
      return
    }
    throw new WitnessRefusedError(`witness ${this.#w.name}: its size kept changing over ${MAX_CONFLICT_RESENDS} resends`, 409)
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms)
      function done() {
        clearTimeout(t)
        resolve()
      }
      this.#wake = done
      this.#stop.signal.addEventListener('abort', done, { once: true })
    }).finally(() => {
      this.#wake = undefined
    })
  }
}
