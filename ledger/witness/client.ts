/**
 * A client of a C2SP witness: posts one `add-checkpoint` request and reads
 * the answer (https://c2sp.org/tlog-witness). Node's fetch keeps
 * connections alive between calls, as the spec asks clients to.
 */
import type { Cosignature, SignedCheckpoint } from '../core/checkpoint.ts'
import type { NoteVerifierKey } from '../core/signed-note.ts'
import { WitnessRefusedError, WitnessResponseInvalidError } from '../core/witness-errors.ts'
import { ADD_CHECKPOINT_PATH, TLOG_SIZE_CONTENT_TYPE, formatAddCheckpointRequest, parseWitnessResponse } from '../core/witness-request.ts'

export type AddCheckpointOutcome =
  /** 200: the witness's verified cosignatures of the checkpoint. */
  | { readonly kind: 'cosigned'; readonly cosignatures: readonly Cosignature[] }
  /** 409: the witness holds `size`; resend from it (or, at equal sizes, it holds another root). */
  | { readonly kind: 'conflict'; readonly size: number }

export interface AddCheckpointCall {
  /** The witness's submission prefix, e.g. `http://127.0.0.1:7380`. */
  readonly url: string
  readonly witness: NoteVerifierKey
  readonly oldSize: number
  readonly proof: readonly Uint8Array[]
  readonly checkpoint: SignedCheckpoint
  readonly timeoutMs: number
  /** Aborts the call (the submitter's shutdown). */
  readonly signal?: AbortSignal
}

/**
 * Submits a checkpoint. Resolves with the cosignatures or the witness's
 * size on a 409; rejects with `WitnessRefusedError` (any other status, or
 * no answer in time) or `WitnessResponseInvalidError` (a 200 without a
 * valid cosignature by `witness`).
 */
export async function addCheckpoint(call: AddCheckpointCall): Promise<AddCheckpointOutcome> {
  const target = `${call.url.replace(/\/+$/, '')}${ADD_CHECKPOINT_PATH}`
  let res: Response
  let text: string
  try {
    res = await fetch(target, {
      method: 'POST',
      body: formatAddCheckpointRequest({ oldSize: call.oldSize, proof: call.proof, checkpoint: call.checkpoint }),
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      signal: call.signal === undefined ? AbortSignal.timeout(call.timeoutMs) : AbortSignal.any([AbortSignal.timeout(call.timeoutMs), call.signal]),
    })
    text = await res.text()
  } catch (err) {
    throw new WitnessRefusedError(`witness ${call.witness.name} at ${target}: no answer (${(err as Error).message})`, 0, { cause: err })
  }
  if (res.status === 200) return { kind: 'cosigned', cosignatures: parseWitnessResponse(call.checkpoint, text, call.witness) }
  if (res.status === 409) {
    const type = res.headers.get('content-type') ?? ''
    const m = /^(0|[1-9][0-9]*)\n$/.exec(text)
    if (!type.startsWith(TLOG_SIZE_CONTENT_TYPE) || !m || !Number.isSafeInteger(Number(m[1])))
      throw new WitnessResponseInvalidError(`witness ${call.witness.name}: a 409 whose body is not a ${TLOG_SIZE_CONTENT_TYPE} size (${JSON.stringify(text.slice(0, 40))}, ${type})`)
    return { kind: 'conflict', size: Number(m[1]) }
  }
  throw new WitnessRefusedError(`witness ${call.witness.name} at ${target}: ${res.status} ${text.trim().slice(0, 300)}`, res.status)
}
