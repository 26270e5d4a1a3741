/**
 * Discovery for a fresh participant that knows only a peer's multiaddr (an
 * auditor joining late): ask the peer's checkpoint protocol for the log it
 * serves, whatever its origin, and learn the origin and the key that signed
 * the checkpoint. That key is trusted on first use unless the caller pins
 * one; everything synced afterwards is verified against it.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { equalBytes } from '../core/canonical.ts'
import { openCheckpoint, type Checkpoint, type SignedCheckpoint } from '../core/checkpoint.ts'
import { CheckpointInvalidError } from '../core/checkpoint-errors.ts'
import { parseVerifierKey } from '../core/signed-note.ts'
import { decodeCheckpointFrame, encodeCheckpointRequest } from '../core/sync-codec.ts'
import { CHECKPOINT_PROTOCOL, DISCOVER_ANY_ORIGIN, MAX_FRAME_BYTES, STREAM_TIMEOUT_MS } from './constants.ts'
import { SyncProtocolError, SyncRemoteError } from './errors.ts'
import { FrameReader, sendFrame } from './frames.ts'

export interface DiscoveredLog {
  readonly origin: string
  /** The key that signed the peer's newest checkpoint: the coordinator's. */
  readonly coordinatorKey: Uint8Array
  readonly checkpoint: Checkpoint
  readonly signed: SignedCheckpoint
}

/**
 * The log `peer` serves: its newest checkpoint, signature verified. With
 * `pinnedKey`, refuses a checkpoint signed by any other key.
 */
export async function discoverLog(peer: string, pinnedKey?: Uint8Array): Promise<DiscoveredLog> {
  const node = await createLibp2p({ addresses: { listen: [] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  const signal = AbortSignal.timeout(STREAM_TIMEOUT_MS)
  try {
    const stream = await node.dialProtocol(multiaddr(peer), CHECKPOINT_PROTOCOL, { signal })
    const reader = new FrameReader(stream, MAX_FRAME_BYTES, 64 * 1024)
    await sendFrame(stream, encodeCheckpointRequest({ origin: DISCOVER_ANY_ORIGIN, from: 0 }), { signal })
    const payload = await reader.next()
    if (payload === undefined) throw new SyncProtocolError(peer, CHECKPOINT_PROTOCOL, 'stream ended before the response')
    const frame = decodeCheckpointFrame(payload)
    if (frame.type === 'error') throw new SyncRemoteError(peer, CHECKPOINT_PROTOCOL, frame.code, frame.message)
    if (frame.checkpoint === undefined) throw new CheckpointInvalidError(`peer ${peer} holds no signed checkpoint yet`)
    if (frame.verifierKey === undefined && pinnedKey === undefined) throw new CheckpointInvalidError(`peer ${peer} names no verifier key for its checkpoint; pin the coordinator key`)
    const key = frame.verifierKey === undefined ? pinnedKey! : parseVerifierKey(frame.verifierKey).publicKey
    if (pinnedKey && !equalBytes(pinnedKey, key)) throw new CheckpointInvalidError(`peer ${peer} serves a log signed by another key than the pinned coordinator key`)
    const checkpoint = openCheckpoint(frame.checkpoint, key)
    await stream.close().catch(() => undefined)
    return { origin: checkpoint.origin, coordinatorKey: key, checkpoint, signed: frame.checkpoint }
  } finally {
    await node.stop()
  }
}
