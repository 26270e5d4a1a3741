/**
 * `fedlineage log check-proof --proof FILE [--coordinator-key HEX | --verifier-key VKEY | --trust-bundle-key]`:
 * checks an inclusion proof with no access to the log: the checkpoint
 * signature, then the entry's audit path to the checkpoint's root. FILE is a
 * JSON bundle or a c2sp.org/tlog-proof@v1 text (told apart by its first
 * line). Without a pinned key the check fails (LEDGER_PROOF_UNVERIFIED)
 * unless the caller accepts a JSON bundle's own key with --trust-bundle-key;
 * a tlog-proof names no key at all, so it needs one. With `--policy FILE`
 * (a c2sp.org/tlog-policy text, e.g. the study's witness policy) a
 * tlog-proof's checkpoint must also carry cosignatures meeting the policy's
 * quorum (LEDGER_WITNESS_QUORUM_NOT_MET otherwise); a JSON bundle carries no
 * cosignatures, so `--policy` asks for a tlog-proof.
 */
import { readFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { toHex } from '../core/hash.ts'
import { checkInclusionBundle } from '../core/proof-bundle.ts'
import { NOTE_KEY_TYPE_ED25519, parseVerifierKey } from '../core/signed-note.ts'
import { requireCheckpointQuorum } from '../core/checkpoint-quorum.ts'
import { parseWitnessPolicy } from '../core/tlog-policy.ts'
import { checkTlogProof, isTlogProof, parseTlogProof } from '../core/tlog-proof.ts'
import { LedgerInvalidArgumentError, LedgerProofUnverifiedError } from '../errors.ts'
import { parsePublicKey } from '../identity.ts'

export async function logCheckProof(raw: { proof: string; coordinatorKey?: string; verifierKey?: string; trustBundleKey?: boolean; policy?: string }, io: CliIo): Promise<void> {
  let text: string
  let value: unknown
  try {
    text = await readFile(raw.proof, 'utf8')
    value = isTlogProof(text) ? undefined : JSON.parse(text)
  } catch (err) {
    throw new LedgerInvalidArgumentError(`--proof ${raw.proof}: ${(err as Error).message}`, { cause: err })
  }
  if (raw.coordinatorKey !== undefined && raw.verifierKey !== undefined) throw new LedgerInvalidArgumentError('give --coordinator-key or --verifier-key, not both')
  const vkey = raw.verifierKey === undefined ? undefined : parseVerifierKey(raw.verifierKey)
  if (vkey !== undefined && vkey.type !== NOTE_KEY_TYPE_ED25519) throw new LedgerInvalidArgumentError(`--verifier-key: key type 0x${vkey.type.toString(16)}, want 0x01 (the log's Ed25519 key)`)
  const key = raw.coordinatorKey ? parsePublicKey(raw.coordinatorKey, '--coordinator-key') : vkey?.publicKey
  let policyText: string | undefined
  if (raw.policy !== undefined) {
    if (value !== undefined)
      throw new LedgerInvalidArgumentError(
        `--policy: ${raw.proof} is a JSON bundle, which carries no cosignatures; export a tlog-proof (\`fedlineage log prove --format tlog-proof\`) to check it against a witness policy`,
      )
    try {
      policyText = await readFile(raw.policy, 'utf8')
    } catch (err) {
      throw new LedgerInvalidArgumentError(`--policy ${raw.policy}: ${(err as Error).message}`, { cause: err })
    }
  }
  if (value === undefined) {
    if (key === undefined)
      throw new LedgerProofUnverifiedError(`${raw.proof} is a tlog-proof, which names no key: pass --coordinator-key or --verifier-key with the log's key (obtained out of band) to check it`)
    const checked = checkTlogProof(text, key, vkey === undefined ? {} : { origin: vkey.name })
    const cp = checked.checkpoint
    const witnessed =
      policyText === undefined
        ? ''
        : `; cosigned by ${requireCheckpointQuorum(parseWitnessPolicy(policyText), parseTlogProof(text).checkpoint, key, cp.origin).join(', ') || 'no witness'}, meeting the policy's quorum`
    io.stdout.write(
      `proof verified: entry ${checked.index} (${checked.entry.kind}) is in the log of ${cp.origin} at size ${cp.size}, root ${toHex(cp.root)}, checkpoint signed by the pinned key ${toHex(key)}${witnessed}\n`,
    )
    return
  }
  const { checkpoint, signer, entry } = checkInclusionBundle(value, key)
  const what = `entry ${entry.seq} (${entry.kind}) is in the log of ${checkpoint.origin} at size ${checkpoint.size}, root ${toHex(checkpoint.root)}`
  // Without a pinned key the bundle vouches for itself: anyone can sign a checkpoint with a key of
  // their own. That is a failure unless the caller accepts the bundle's key in so many words.
  if (key) io.stdout.write(`proof verified: ${what}, checkpoint signed by the pinned coordinator key ${toHex(signer)}\n`)
  else if (raw.trustBundleKey) io.stdout.write(`proof consistent under the bundle's own key (accepted by --trust-bundle-key, not pinned): ${what}, checkpoint key ${toHex(signer)}\n`)
  else
    throw new LedgerProofUnverifiedError(
      `proof consistent, NOT verified: ${what} under checkpoint key ${toHex(signer)}, which the bundle itself names; pass --coordinator-key with the coordinator's key (obtained out of band) to verify it, or --trust-bundle-key to accept the bundle's key`,
    )
}
