/**
 * `/fl/checkpoint/1.0.0`: both ends. The client learns a peer's latest
 * checkpoint and, before pulling a single entry, checks with a consistency
 * proof (core/merkle.ts) that the peer's tree extends its own.
 */
import type { AbortOptions, Stream } from '@libp2p/interface'
import { equalBytes } from '../core/canonical.ts'
import { checkpointVerifierKey, openCheckpoint, readCheckpoint, type Checkpoint, type SignedCheckpoint } from '../core/checkpoint.ts'
import { RFC6962_SHA256, verifyConsistency } from '../core/merkle.ts'
import { RootMismatchError } from '../core/merkle-errors.ts'
import { decodeCheckpointFrame, decodeCheckpointRequest, encodeCheckpointFrame, encodeCheckpointRequest, errorFrame, type CheckpointFrame } from '../core/sync-codec.ts'
import { LedgerError } from '../errors.ts'
import type { Ledger } from '../ledger.ts'
import { CHECKPOINT_PROTOCOL, DISCOVER_ANY_ORIGIN } from './constants.ts'
import { SyncOriginMismatchError, SyncProtocolError, SyncRemoteError } from './errors.ts'
import { sendFrame, type FrameReader } from './frames.ts'
import { newestCheckpoint } from './sync-protocol.ts'

/** What both ends need. */
export interface CheckpointContext {
  readonly ledger: Ledger
  readonly origin: string
  /** The key the log's checkpoints are signed with (its verifier key goes with each answer). */
  readonly coordinatorKey: Uint8Array
}

/**
 * Answers one checkpoint request: the latest stored checkpoint and, when
 * `0 < from < its size <= length`, the consistency proof from `from` to it.
 */
export async function serveCheckpoint(ctx: CheckpointContext, stream: Stream, reader: FrameReader, options: AbortOptions): Promise<void> {
  const send = (frame: CheckpointFrame): Promise<void> => sendFrame(stream, encodeCheckpointFrame(frame), options)
  try {
    const payload = await reader.next()
    if (payload === undefined) return
    const request = decodeCheckpointRequest(payload)
    if (request.origin !== ctx.origin && request.origin !== DISCOVER_ANY_ORIGIN) throw new SyncOriginMismatchError(ctx.origin, request.origin)
    const latest = await newestCheckpoint(ctx.ledger)
    const size = latest === undefined ? 0 : readCheckpoint(latest).size
    const proof = request.from > 0 && request.from < size ? await ctx.ledger.consistencyProof(request.from, size) : []
    const verifierKey = latest === undefined ? undefined : checkpointVerifierKey(readCheckpoint(latest).origin, ctx.coordinatorKey)
    await send({ type: 'checkpoint', checkpoint: latest, proof, verifierKey })
  } catch (err) {
    if (!(err instanceof LedgerError) || stream.writeStatus !== 'writable') throw err
    await send(errorFrame(err.code, err.message))
  }
}

/** A peer's latest checkpoint, its signature verified, and how it relates to the local log. */
export interface PeerCheckpoint {
  readonly signed: SignedCheckpoint
  readonly checkpoint: Checkpoint
  /**
   * Why the peer's tree is not the local one or an extension of it (a
   * `RootMismatchError` or a malformed proof), or undefined when it is, or
   * when it is smaller (nothing to prove). A conflict is about the
   * coordinator (or the peer's proof), not a protocol failure, so it is
   * reported rather than thrown.
   */
  readonly conflict: LedgerError | undefined
}

/**
 * Asks for the peer's latest checkpoint and verifies it: signed by
 * `coordinatorKey` for this origin (throws `CheckpointInvalidError`) and,
 * when it is at least the local size, consistent with the local root
 * (see `PeerCheckpoint.conflict`). Undefined when the peer holds none.
 */
export async function requestCheckpoint(ctx: CheckpointContext, stream: Stream, reader: FrameReader, peer: string, options: AbortOptions): Promise<PeerCheckpoint | undefined> {
  const from = ctx.ledger.length
  const localRoot = await ctx.ledger.root(from)
  await sendFrame(stream, encodeCheckpointRequest({ origin: ctx.origin, from }), options)
  const payload = await reader.next()
  if (payload === undefined) throw new SyncProtocolError(peer, CHECKPOINT_PROTOCOL, 'stream ended before the response')
  const frame = decodeCheckpointFrame(payload)
  if (frame.type === 'error') throw new SyncRemoteError(peer, CHECKPOINT_PROTOCOL, frame.code, frame.message)
  if (frame.checkpoint === undefined) return undefined
  const checkpoint = openCheckpoint(frame.checkpoint, ctx.coordinatorKey, ctx.origin)
  let conflict: LedgerError | undefined
  if (checkpoint.size === from && !equalBytes(checkpoint.root, localRoot)) {
    conflict = new RootMismatchError(`peer ${peer} checkpoint of size ${checkpoint.size}`, 'root', localRoot, checkpoint.root)
  } else if (from > 0 && checkpoint.size > from) {
    try {
      verifyConsistency(RFC6962_SHA256, from, checkpoint.size, frame.proof, localRoot, checkpoint.root)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
      conflict = err
    }
  }
  return { signed: frame.checkpoint, checkpoint, conflict }
}
