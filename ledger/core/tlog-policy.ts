/**
 * Witness policies in the C2SP format (https://c2sp.org/tlog-policy): which
 * logs are accepted, which witnesses exist, and which sets of their
 * cosignatures (the quorum) make a checkpoint valid.
 *
 *     log <vkey> [<url>]
 *     witness <name> <vkey> [<url>]
 *     group <name> all|any|<k> <name>...
 *     quorum <name>|none
 *
 * Items are separated by spaces and tabs; blank lines and `#` comments are
 * ignored. A group or the quorum names only witnesses and groups defined on
 * earlier lines, each member at most once, and 1 <= k <= n. Exactly one
 * quorum line. Log keys are Ed25519 note keys (type 0x01), witness keys
 * cosignature/v1 keys (type 0x04); two lines may not wrap one public key.
 * Names are compared as exact strings (the spec treats non-ASCII as opaque
 * octets; a JS string of UTF-8 text compares the same way).
 *
 * Pure: text in, values out.
 */
import { equalBytes } from './canonical.ts'
import { NOTE_KEY_TYPE_COSIGNATURE_V1, NOTE_KEY_TYPE_ED25519, parseVerifierKey, type NoteVerifierKey } from './signed-note.ts'
import { WitnessPolicyInvalidError } from './witness-errors.ts'

/** The predefined quorum name that asks for no cosignature. */
export const POLICY_QUORUM_NONE = 'none'
/** Most logs, witnesses and groups one policy may define (the spec asks implementations to support at least 32 of each). */
export const MAX_POLICY_ITEMS = 256

export interface PolicyLog {
  readonly vkey: string
  readonly key: NoteVerifierKey
  readonly url?: string
}

export interface PolicyWitness {
  readonly name: string
  readonly vkey: string
  readonly key: NoteVerifierKey
  /** The witness's submission prefix (tlog-witness), where `add-checkpoint` is posted. */
  readonly url?: string
}

export interface PolicyGroup {
  readonly name: string
  /** How many members must have witnessed a checkpoint for the group to have (1 <= threshold <= members.length). */
  readonly threshold: number
  readonly members: readonly string[]
}

export interface WitnessPolicy {
  readonly logs: readonly PolicyLog[]
  readonly witnesses: readonly PolicyWitness[]
  readonly groups: readonly PolicyGroup[]
  /** A witness's or group's name, or `none`. */
  readonly quorum: string
}

/** Parses a policy text. Throws `WitnessPolicyInvalidError` naming the line at fault. */
export function parseWitnessPolicy(text: string): WitnessPolicy {
  const logs: PolicyLog[] = []
  const witnesses: PolicyWitness[] = []
  const groups: PolicyGroup[] = []
  const defined = new Set<string>()
  let quorum: string | undefined
  const lines = text.split('\n')
  // A final newline ends the last line; it does not start another.
  if (lines.at(-1) === '') lines.pop()
  lines.forEach((raw, i) => {
    const n = i + 1
    const fail = (why: string): never => {
      throw new WitnessPolicyInvalidError(n, why)
    }
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(raw)) fail('holds a control character other than tab (the spec allows tab, newline, 0x20-0x7E and 0x80-0xFF)')
    const line = raw.replace(/^[ \t]+|[ \t]+$/g, '')
    if (line === '' || line.startsWith('#')) return
    const [keyword, ...args] = line.split(/[ \t]+/) as [string, ...string[]]
    const key = (vkey: string, type: number, what: string): NoteVerifierKey => {
      let k: NoteVerifierKey
      try {
        k = parseVerifierKey(vkey)
      } catch (err) {
        return fail(`${what} key: ${(err as Error).message}`)
      }
      if (k.type !== type) fail(`${what} key ${k.name} has signature type 0x${k.type.toString(16).padStart(2, '0')}, want 0x${type.toString(16).padStart(2, '0')}`)
      const all = [...logs.map((l) => l.key), ...witnesses.map((w) => w.key)]
      if (all.some((o) => equalBytes(o.publicKey, k.publicKey))) fail(`${what} key ${k.name} wraps a public key an earlier line already defines`)
      return k
    }
    const newName = (name: string) => {
      if (name === POLICY_QUORUM_NONE) fail(`"${POLICY_QUORUM_NONE}" is predefined and cannot be defined`)
      if (defined.has(name)) fail(`name "${name}" is already defined`)
      defined.add(name)
    }
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) fail(`want "log <vkey> [<url>]", got ${args.length} items after "log"`)
        if (logs.length >= MAX_POLICY_ITEMS) fail(`more than ${MAX_POLICY_ITEMS} logs`)
        const [vkey, url] = args as [string, string?]
        logs.push({ vkey, key: key(vkey, NOTE_KEY_TYPE_ED25519, 'log'), ...(url === undefined ? {} : { url }) })
        return
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) fail(`want "witness <name> <vkey> [<url>]", got ${args.length} items after "witness"`)
        if (witnesses.length >= MAX_POLICY_ITEMS) fail(`more than ${MAX_POLICY_ITEMS} witnesses`)
        const [name, vkey, url] = args as [string, string, string?]
        newName(name)
        witnesses.push({ name, vkey, key: key(vkey, NOTE_KEY_TYPE_COSIGNATURE_V1, `witness ${name}`), ...(url === undefined ? {} : { url }) })
        return
      }
      case 'group': {
        if (args.length < 3) fail('want "group <name> all|any|<k> <name>..." with at least one member')
        if (groups.length >= MAX_POLICY_ITEMS) fail(`more than ${MAX_POLICY_ITEMS} groups`)
        const [name, k, ...members] = args as [string, string, ...string[]]
        const seen = new Set<string>()
        for (const m of members) {
          if (m === POLICY_QUORUM_NONE) fail(`group ${name}: "${POLICY_QUORUM_NONE}" cannot be a group member`)
          if (!defined.has(m)) fail(`group ${name}: member "${m}" is not a witness or group defined on an earlier line`)
          if (seen.has(m)) fail(`group ${name}: member "${m}" is listed twice`)
          seen.add(m)
        }
        let threshold: number
        if (k === 'all') threshold = members.length
        else if (k === 'any') threshold = 1
        else if (/^[1-9][0-9]{0,5}$/.test(k) && Number(k) <= members.length) threshold = Number(k)
        else return fail(`group ${name}: threshold "${k}" must be all, any, or a decimal k with 1 <= k <= ${members.length} (its members)`)
        newName(name)
        groups.push({ name, threshold, members })
        return
      }
      case 'quorum': {
        if (args.length !== 1) fail(`want "quorum <name>", got ${args.length} items after "quorum"`)
        if (quorum !== undefined) fail('a second quorum line; a policy has exactly one')
        const [name] = args as [string]
        if (name !== POLICY_QUORUM_NONE && !defined.has(name)) fail(`quorum "${name}" is not a witness or group defined on an earlier line`)
        quorum = name
        return
      }
      default:
        fail(`unknown keyword "${keyword.slice(0, 40)}"; want log, witness, group or quorum`)
    }
  })
  if (quorum === undefined) throw new WitnessPolicyInvalidError(0, 'no quorum line; add e.g. "quorum none" or "quorum <group>"')
  return { logs, witnesses, groups, quorum }
}

/**
 * Whether the witnesses named in `cosigned` (by their policy names) satisfy
 * the policy's quorum: a witness has witnessed when it is in the set, a
 * group when at least `threshold` of its members have.
 */
export function quorumSatisfied(policy: WitnessPolicy, cosigned: ReadonlySet<string>): boolean {
  if (policy.quorum === POLICY_QUORUM_NONE) return true
  const groups = new Map(policy.groups.map((g) => [g.name, g]))
  const witnessed = (name: string): boolean => {
    const g = groups.get(name)
    if (g === undefined) return cosigned.has(name)
    return g.members.filter(witnessed).length >= g.threshold
  }
  return witnessed(policy.quorum)
}

/** The policy's witnesses whose key is among `keys` (raw Ed25519 public keys), by policy name. */
export function policyWitnessNames(policy: WitnessPolicy, keys: readonly Uint8Array[]): Set<string> {
  return new Set(policy.witnesses.filter((w) => keys.some((k) => equalBytes(k, w.key.publicKey))).map((w) => w.name))
}
