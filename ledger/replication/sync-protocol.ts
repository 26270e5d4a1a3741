/**
 * `/fl/ledger-sync/1.0.0`: both ends. The server streams entries and the
 * checkpoints that commit to them; the client checks each frame's place in
 * the response and each entry (position, chain link, coordinator signature)
 * as it arrives, and hands the entries up to each checkpoint to the ledger,
 * which verifies the Merkle root before storing anything.
 *
 * Both functions run on a stream the caller opened or accepted, under the
 * caller's deadline; they never close or abort it.
 */
import type { AbortOptions, Stream } from '@libp2p/interface'
import { openCheckpoint, readCheckpoint, type Checkpoint, type SignedCheckpoint } from '../core/checkpoint.ts'
import { checkEntryLink, decodeEntry, entryHash } from '../core/entry.ts'
import { decodeSyncFrame, decodeSyncRequest, encodeSyncFrame, encodeSyncRequest, errorFrame, type SyncFrame } from '../core/sync-codec.ts'
import { LedgerError } from '../errors.ts'
import type { Ledger } from '../ledger.ts'
import { LEDGER_SYNC_PROTOCOL } from './constants.ts'
import { SyncOriginMismatchError, SyncProtocolError, SyncRemoteError } from './errors.ts'
import { FrameWriter, sendFrame, type FrameReader } from './frames.ts'

/** What the server side needs. */
export interface SyncServerContext {
  readonly ledger: Ledger
  readonly origin: string
  /** Most entries one response carries. */
  readonly maxSyncEntries: number
  /** Throws ReplicationAccessDeniedError when the requesting peer may not read entries. */
  readonly authorize?: () => void
}

/** A response's frames go out in writes of about this many bytes (see FrameWriter). */
const WRITE_BATCH_BYTES = 64 * 1024

/** Below this many entries, a response looks up each size's checkpoint; above, it lists them all once. */
const POINT_LOOKUP_ENTRIES = 1024

/**
 * The newest stored checkpoint, with the cosignature/v1 lines of the
 * witnesses that cosigned it (so a replica that syncs gets them too, and its
 * audit can hold the checkpoint to the study's witness policy). It is nearly
 * always the one of the log's own size (the coordinator checkpoints every
 * append, a replica stores entries only with a checkpoint), which is one
 * read; otherwise all are listed.
 */
export async function newestCheckpoint(ledger: Ledger): Promise<SignedCheckpoint | undefined> {
  return (await ledger.cosignedCheckpointAt(ledger.length)) ?? (await ledger.latestCheckpoint())
}

/** The stored checkpoints of sizes in `(from, to]`, by size. */
async function checkpointsWithin(ledger: Ledger, from: number, to: number): Promise<Map<number, SignedCheckpoint>> {
  const found = new Map<number, SignedCheckpoint>()
  if (to - from <= POINT_LOOKUP_ENTRIES) {
    const sizes = Array.from({ length: to - from }, (_, i) => from + 1 + i)
    const checkpoints = await Promise.all(sizes.map((size) => ledger.checkpointAt(size)))
    checkpoints.forEach((cp, i) => {
      if (cp !== undefined) found.set(sizes[i] as number, cp)
    })
    return found
  }
  for (const cp of await ledger.checkpoints()) {
    const size = readCheckpoint(cp).size
    if (size > from && size <= to) found.set(size, cp)
  }
  return found
}

/** What a server sent: entries `[from, end)`. */
export interface ServedSync {
  readonly from: number
  readonly end: number
}

/**
 * Answers one sync request. A request the server cannot serve (another
 * origin, a malformed request, a damaged local entry) is answered with an
 * error frame naming the error's code; the stream then ends normally.
 * Resolves with the range served, or undefined when nothing was asked or an
 * error frame was sent.
 */
export async function serveSync(ctx: SyncServerContext, stream: Stream, reader: FrameReader, options: AbortOptions): Promise<ServedSync | undefined> {
  const writer = new FrameWriter(stream, WRITE_BATCH_BYTES, options)
  const send = (frame: SyncFrame): Promise<void> => writer.write(encodeSyncFrame(frame))
  try {
    const payload = await reader.next()
    if (payload === undefined) return undefined // the peer closed without asking
    const request = decodeSyncRequest(payload)
    ctx.authorize?.()
    if (request.origin !== ctx.origin) throw new SyncOriginMismatchError(ctx.origin, request.origin)
    // The head and every stored checkpoint the entries may reach, read together: the
    // entries end at the head, and never past the length read here.
    const limit = Math.min(request.to, ctx.ledger.length, request.from + ctx.maxSyncEntries)
    const [head, waypoints] = await Promise.all([
      newestCheckpoint(ctx.ledger),
      request.from < limit ? checkpointsWithin(ctx.ledger, request.from, limit) : Promise.resolve(new Map<number, SignedCheckpoint>()),
    ])
    // The head's own size is sent as the head (with its cosignatures), not again as a bare waypoint.
    const headAt = head === undefined ? undefined : readCheckpoint(head).size
    if (head !== undefined && headAt !== undefined && waypoints.has(headAt)) waypoints.set(headAt, head)
    await send({ type: 'head', checkpoint: head })
    const headSize = head === undefined ? 0 : readCheckpoint(head).size
    const end = Math.max(request.from, Math.min(limit, headSize))
    if (request.from < end) {
      // Every stored checkpoint the entries reach is sent right after its last entry.
      // The entries as stored, checked against the Merkle leaves they were committed
      // under, not re-verified: the client verifies every one before storing it.
      for await (const { seq, bytes } of ctx.ledger.readCommitted(request.from, end)) {
        await send({ type: 'entry', bytes })
        const waypoint = waypoints.get(seq + 1)
        if (waypoint !== undefined) await send({ type: 'checkpoint', checkpoint: waypoint })
      }
    }
    await send({ type: 'end', size: end })
    await writer.flush()
    return { from: request.from, end }
  } catch (err) {
    // Tell the peer why (it will ask someone else), unless the stream itself failed.
    if (!(err instanceof LedgerError) || stream.writeStatus !== 'writable') throw err
    await send(errorFrame(err.code, err.message))
    await writer.flush()
    return undefined
  }
}

/** What a client does with a response, frame by frame. */
export interface SyncResponseHandler {
  /** The server's latest checkpoint (first frame). */
  head(checkpoint: SignedCheckpoint | undefined): Promise<void>
  /** Entry `seq` (in order from the request's `from`). */
  entry(bytes: Uint8Array, seq: number): Promise<void> | void
  /** A stored checkpoint of size `size`: the entries so far end there. */
  checkpoint(checkpoint: SignedCheckpoint, size: number): Promise<void>
}

/**
 * Sends a request and reads the response to its end frame, passing each
 * frame to `handler` after checking it is where the protocol puts it.
 * Resolves with the size the entries end at. Throws `SyncRemoteError` for an
 * error frame and `SyncProtocolError` for a frame out of place, more entries
 * than asked for, or a stream that ends before the end frame.
 */
export async function requestSync(
  stream: Stream,
  reader: FrameReader,
  request: { readonly origin: string; readonly from: number; readonly to: number },
  peer: string,
  handler: SyncResponseHandler,
  options: AbortOptions,
): Promise<number> {
  const fail = (problem: string): never => {
    throw new SyncProtocolError(peer, LEDGER_SYNC_PROTOCOL, problem)
  }
  await sendFrame(stream, encodeSyncRequest(request), options)
  let next = request.from
  let first = true
  for (;;) {
    const payload = await reader.next()
    if (payload === undefined) return fail(`stream ended before the end frame (after entry ${next - 1})`)
    const frame = decodeSyncFrame(payload)
    if (frame.type === 'error') throw new SyncRemoteError(peer, LEDGER_SYNC_PROTOCOL, frame.code, frame.message)
    if (first !== (frame.type === 'head')) fail(first ? `first frame is ${frame.type}, want head` : 'a second head frame')
    first = false
    switch (frame.type) {
      case 'head':
        await handler.head(frame.checkpoint)
        break
      case 'entry':
        if (next >= request.to) fail(`sent entry ${next}, but [${request.from}, ${request.to}) was asked for`)
        await handler.entry(frame.bytes, next)
        next++
        break
      case 'checkpoint': {
        const size = readCheckpoint(frame.checkpoint).size
        if (size !== next) fail(`sent a checkpoint of size ${size} after entry ${next - 1}, want size ${next}`)
        await handler.checkpoint(frame.checkpoint, size)
        break
      }
      case 'end':
        if (frame.size !== next) fail(`end frame says size ${frame.size}, but the entries end at ${next}`)
        return next
    }
  }
}

/** What a pull needs. */
export interface PullContext {
  readonly ledger: Ledger
  readonly origin: string
  readonly coordinatorKey: Uint8Array
  readonly maxSyncEntries: number
  /**
   * Entries to gather before storing at the next checkpoint (each store is a
   * durable write); the response's last checkpoint is stored in any case.
   */
  readonly storeEveryEntries: number
  /**
   * Checks a checkpoint's signature, author and origin (default
   * `openCheckpoint` with the context's key and origin); a caller that has
   * verified the same checkpoint before may answer from memory.
   */
  readonly open?: ((signed: SignedCheckpoint) => Checkpoint) | undefined
  /** Sees each verified checkpoint of the response before its entries are stored (split-view check). */
  observe(signed: SignedCheckpoint, checkpoint: Checkpoint): Promise<void>
  /** Called after each store, with the new local size. */
  stored(size: number): void
  /**
   * Where the round starts: the local length and head hash once the store
   * `inFlight` has landed (default: the ledger's length and head hash now,
   * nothing in flight). A caller pipelining rounds passes the previous
   * round's `size`, `headHash` and `stored`.
   */
  readonly from?: { readonly size: number; readonly headHash: Uint8Array; readonly inFlight: Promise<void> } | undefined
}

/** The outcome of one pull round. */
export interface PullRound {
  /** The server's latest checkpoint, verified; undefined when it has none. */
  readonly head: Checkpoint | undefined
  /** The local size once `stored` has landed. */
  readonly size: number
  /** Hash of entry `size - 1` (the round's start hash when it stored nothing). */
  readonly headHash: Uint8Array
  /**
   * The round's last store, issued and maybe still being written: the round
   * resolves once the response is read and checked, so the next round's
   * request can go out while the log is being written. Await it; it rejects
   * when a store failed (and then nothing after it was stored).
   */
  readonly stored: Promise<void>
}

/**
 * One round of pulling: asks for `[length, length + maxSyncEntries)`
 * (`length` being where the store in flight ends, see PullContext.from),
 * checks each entry's position, chain link and author as it arrives, and
 * stores entries with `appendReplicated` up to a checkpoint once
 * `storeEveryEntries` have gathered, and up to the response's last
 * checkpoint at its end. `appendReplicated` verifies their signatures, the
 * Merkle root against the signed checkpoint and its consistency with the
 * stored one before storing anything. Entries after the last checkpoint of
 * the response are dropped, to be fetched again next round, and so is
 * everything not issued for storing when the stream fails or
 * `options.signal` aborts. The last store is issued, not awaited: see
 * PullRound.stored.
 */
export async function pullRound(ctx: PullContext, stream: Stream, reader: FrameReader, peer: string, options: AbortOptions): Promise<PullRound> {
  const trust = { coordinatorKey: ctx.coordinatorKey, origin: ctx.origin }
  const open = ctx.open ?? ((signed: SignedCheckpoint) => openCheckpoint(signed, ctx.coordinatorKey, ctx.origin))
  const from = ctx.from?.size ?? ctx.ledger.length
  let prevHash = ctx.from?.headHash ?? ctx.ledger.headHash
  /** Entries received and not stored yet, from `from` on. */
  let batch: Uint8Array[] = []
  /** The latest checkpoint received, covering the first `covered` entries of `batch`, which end with `hash`. */
  let pending: { signed: SignedCheckpoint; size: number; covered: number; hash: Uint8Array } | undefined
  let head: Checkpoint | undefined
  /** The local size the entries received so far reach. */
  let received = from
  /** Where the issued stores end. */
  let size = from
  let headHash = prevHash
  /** The last store issued. At most one is in flight: the next is issued once it has landed. */
  let inFlight: Promise<void> = ctx.from?.inFlight ?? Promise.resolve()
  const store = async (): Promise<void> => {
    if (pending === undefined) return
    const { signed, covered } = pending
    const entries = batch.slice(0, covered)
    batch = batch.slice(covered)
    const stored = pending
    pending = undefined
    await inFlight
    options.signal?.throwIfAborted()
    inFlight = ctx.ledger.appendReplicated(entries, signed, trust).then(() => ctx.stored(stored.size))
    // Awaited by the next store or by the caller; never an unhandled rejection meanwhile.
    inFlight.catch(storeFailed)
    size = stored.size
    headHash = stored.hash
  }
  try {
    await requestSync(
      stream,
      reader,
      { origin: ctx.origin, from, to: from + ctx.maxSyncEntries },
      peer,
      {
        async head(signed) {
          if (signed === undefined) return
          head = open(signed)
          await ctx.observe(signed, head)
        },
        entry(bytes, seq) {
          // Position, chain link and author now, so a forked or foreign entry stops the pull at
          // once; the signatures and the Merkle root are checked by appendReplicated, before storing.
          checkEntryLink(decodeEntry(bytes, seq), { seq, prevHash, trustedAuthors: [ctx.coordinatorKey] })
          prevHash = entryHash(bytes)
          batch.push(bytes)
          received++
        },
        async checkpoint(signed) {
          await ctx.observe(signed, open(signed))
          pending = { signed, size: received, covered: batch.length, hash: prevHash }
          if (batch.length >= ctx.storeEveryEntries) await store()
        },
      },
      options,
    )
  } catch (err) {
    // A store issued before the failure lands first; when it failed, that is the error to report.
    await inFlight
    throw err
  }
  await store()
  return { head, size, headHash, stored: inFlight }
}

function storeFailed(): void {
  // Deliberately nothing: see pullRound's store.
}

/**
 * Entry `seq` as the peer holds it (undefined when its checkpoints do not
 * reach it), unverified: the caller compares it with what it trusts.
 */
export async function fetchEntry(origin: string, stream: Stream, reader: FrameReader, peer: string, seq: number, options: AbortOptions): Promise<Uint8Array | undefined> {
  let found: Uint8Array | undefined
  await requestSync(
    stream,
    reader,
    { origin, from: seq, to: seq + 1 },
    peer,
    {
      head: async () => {},
      entry: (bytes) => {
        found = bytes
      },
      checkpoint: async () => {},
    },
    options,
  )
  return found
}
