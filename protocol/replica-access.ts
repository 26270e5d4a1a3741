/**
 * Who may read what from a replica of the study's log: the study's policy,
 * decided from the log alone, so the coordinator's replica and every other
 * replica refuse the same requests.
 *
 * - Entries (hashes, signed statements, no data): every participant, i.e. the
 *   coordinator, the hub, each enrolled site and each auditor the study names;
 *   so are the bodies of update envelopes an entry embeds by reference.
 * - Models (the initial one and every committed one): every participant.
 * - A site's deltas: that site, the coordinator and the study's auditors.
 * - SCAFFOLD's server control variate (the strategy state a commit names in a
 *   `scaffold` study): every participant, since every planned site trains with it.
 * - Any other blob (the hub's validation set, other strategies' state): the
 *   coordinator and the auditors.
 *
 * A peer is known by the Ed25519 key of its libp2p identity, which is its
 * enrolled key (ledger's `peerKeyOf`); a peer with another key, or none the
 * log names, is no participant and reads nothing.
 */
import { equalBytes, fromHex, toHex } from '../ledger/core/index.ts'
import type { StudyState } from './study-state.ts'

/** A participant, as the log names it. */
export type ReplicaReader = { readonly role: 'coordinator' | 'hub' | 'auditor' } | { readonly role: 'site'; readonly site: string }

/** Who may fetch a blob. */
export type BlobAudience = 'participants' | { readonly site: string } | 'coordinator-and-auditors'

/** Same shape as the ledger's `ReplicaAccess`, which a replica node takes. */
export interface StudyReplicaAccess {
  mayReadEntries(peer: Uint8Array | undefined): boolean
  mayFetchBlob(peer: Uint8Array | undefined, hash: Uint8Array): boolean
}

/** The participant holding `peer`, or undefined for anyone else. */
export function replicaReader(state: StudyState, coordinatorKey: Uint8Array, peer: Uint8Array | undefined): ReplicaReader | undefined {
  if (peer === undefined) return undefined
  if (equalBytes(peer, coordinatorKey)) return { role: 'coordinator' }
  if (!state.created) return undefined
  for (const [site, key] of state.sites) if (equalBytes(key, peer)) return { role: 'site', site }
  if ((state.study.auditors ?? []).some((a) => equalBytes(fromHex(a.publicKey), peer))) return { role: 'auditor' }
  if (equalBytes(state.hubKey, peer)) return { role: 'hub' }
  return undefined
}

/** Who may fetch the blob hashed `hash`, by what the log says it is. */
export function blobAudience(state: StudyState, hash: Uint8Array): BlobAudience {
  if (!state.created) return 'coordinator-and-auditors'
  const id = toHex(hash)
  if (toHex(state.genesis) === id || state.isSharedState(hash)) return 'participants'
  for (const r of state.rounds.values()) {
    if (r.commit !== undefined && toHex(r.commit.body.model) === id) return 'participants'
    for (const a of r.accepted.values()) {
      if (toHex(a.delta) === id) return { site: a.site }
      // An envelope embedded by reference is entry content, blob or not.
      if (toHex(a.envelopeHash) === id) return 'participants'
    }
    for (const x of r.rejected) if (toHex(x.statementHash) === id) return 'participants'
  }
  return 'coordinator-and-auditors'
}

/** May `reader` fetch a blob of this audience? */
export function mayFetch(reader: ReplicaReader | undefined, audience: BlobAudience): boolean {
  if (reader === undefined) return false
  if (reader.role === 'coordinator' || reader.role === 'auditor') return true
  if (audience === 'participants') return true
  return audience !== 'coordinator-and-auditors' && reader.role === 'site' && reader.site === audience.site
}

/** The study's policy over a replica whose folded state `view()` returns (read at each request). */
export function studyReplicaAccess(view: () => StudyState, coordinatorKey: Uint8Array): StudyReplicaAccess {
  return {
    mayReadEntries: (peer) => replicaReader(view(), coordinatorKey, peer) !== undefined,
    mayFetchBlob: (peer, hash) => {
      const state = view()
      return mayFetch(replicaReader(state, coordinatorKey, peer), blobAudience(state, hash))
    },
  }
}
