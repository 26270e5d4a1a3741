/**
 * The site's consent set: every signed receipt and revocation it holds, kept
 * in memory and indexed by pseudonym, with a JSON file for persistence
 * (`saveConsentStore` / `loadConsentStore`). Imports only ever add: a consent
 * ends by a revocation, never by deleting its receipt, so past rounds can
 * still be explained.
 *
 * Every record is verified when it is added: its signature, and a signer the
 * site trusts for that pseudonym (one of the site's consent authorities, or
 * the patient's own enrolled key, which may sign only for its own pseudonym).
 * Adding the same signed bytes twice is a no-op.
 *
 * `decide` is the one place that says whether a patient may be trained on at
 * a given time; `filterByConsent` (filter.ts) applies it to records.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { LedgerError, equalBytes, fromHex, toHex } from '../../ledger/index.ts'
import { ConsentAuthorityUntrustedError, ConsentRejectedError, ConsentStoreCorruptError } from './errors.ts'
import type { ConsentImportResult } from './import-report.ts'
import {
  consentLeafOf,
  consentReceiptHash,
  consentStatus,
  decodeSignedConsent,
  encodeSignedConsent,
  revocationTimeFor,
  verifyConsent,
  type ConsentLeaf,
  type ConsentReceipt,
  type ConsentRevocation,
  type ConsentStatus,
  type SignedConsent,
  ProtocolError,
} from '../../protocol/index.ts'

export interface ConsentStoreInit {
  /** Public keys of the site's consent authorities: trusted to sign for any pseudonym. */
  readonly authorities: readonly Uint8Array[]
  /** Patients' own public keys by hex pseudonym: each trusted only for its own pseudonym. */
  readonly patientKeys?: ReadonlyMap<string, Uint8Array>
}

/** A receipt as the store holds it: the signed bytes, the decoded receipt, and its consent-tree leaf. */
export interface StoredReceipt {
  readonly signed: SignedConsent
  readonly receipt: ConsentReceipt
  readonly leaf: ConsentLeaf
}

/** What `decide` concludes for one patient; the names are the filter's counts. */
export type ConsentDecisionKind = 'consented' | 'noConsent' | 'expired' | 'notYetValid' | 'revoked'

export interface ConsentDecisionResult {
  readonly kind: ConsentDecisionKind
  /** The receipt the site may train on; present exactly when kind is `consented`. */
  readonly receipt?: StoredReceipt
}

/** What a decision is asked: the study, the purpose and the round's time. */
export interface ConsentDecisionQuery {
  readonly study: string
  readonly purpose: string
  readonly atMs: number
}

interface PatientConsents {
  readonly receipts: StoredReceipt[]
  readonly revocations: ConsentRevocation[]
}

export class ConsentStore {
  readonly #init: ConsentStoreInit
  readonly #byPseudonym = new Map<string, PatientConsents>()
  readonly #seen = new Set<string>()
  readonly #records: SignedConsent[] = []
  #receiptCount = 0
  #revocationCount = 0

  constructor(init: ConsentStoreInit) {
    this.#init = init
  }

  /** Number of distinct receipts and revocations held. */
  get size(): { readonly receipts: number; readonly revocations: number } {
    return { receipts: this.#receiptCount, revocations: this.#revocationCount }
  }

  /**
   * Verifies and adds one signed record. Returns false when the very same
   * signed bytes were already held. Throws ConsentRejectedError (the ledger's
   * error as `cause`, its code as `reason`) for a malformed record, a bad
   * signature, or a signer not trusted for the record's pseudonym.
   */
  add(signed: SignedConsent): boolean {
    let record
    try {
      record = verifyConsent(signed)
    } catch (err) {
      if (!(err instanceof LedgerError || err instanceof ProtocolError)) throw err
      throw new ConsentRejectedError(`consent store: record refused: ${err.message}`, err.code, { cause: err })
    }
    const pseudonymHex = toHex(record.pseudonym)
    if (!this.#trusts(record.signer, pseudonymHex)) {
      throw new ConsentRejectedError(
        `consent store: ${record.t} for pseudonym ${pseudonymHex} is signed by ${toHex(record.signer)}, which is neither a consent authority nor that patient's key`,
        'PROTOCOL_CONSENT_UNTRUSTED_SIGNER',
      )
    }
    const id = toHex(consentReceiptHash(signed))
    if (this.#seen.has(id)) return false
    this.#seen.add(id)
    const copy: SignedConsent = { body: signed.body.slice(), signature: signed.signature.slice() }
    this.#records.push(copy)
    const patient = this.#byPseudonym.get(pseudonymHex) ?? { receipts: [], revocations: [] }
    this.#byPseudonym.set(pseudonymHex, patient)
    if (record.t === 'consent') {
      patient.receipts.push({ signed: copy, receipt: record, leaf: consentLeafOf(copy) })
      this.#receiptCount++
    } else {
      patient.revocations.push(record)
      this.#revocationCount++
    }
    return true
  }

  /** Adds every record of an import (receipts, then revocations). Returns how many were new. Throws like `add`. */
  addImport(result: Pick<ConsentImportResult, 'receipts' | 'revocations'>): { readonly added: number; readonly duplicates: number } {
    let added = 0
    const all = [...result.receipts, ...result.revocations]
    for (const signed of all) if (this.add(signed)) added++
    return { added, duplicates: all.length - added }
  }

  /** The receipts held for a pseudonym, in the order they were added. */
  receiptsOf(pseudonym: Uint8Array): readonly StoredReceipt[] {
    return this.#byPseudonym.get(toHex(pseudonym))?.receipts ?? []
  }

  /** The revocations held for a pseudonym, in the order they were added. */
  revocationsOf(pseudonym: Uint8Array): readonly ConsentRevocation[] {
    return this.#byPseudonym.get(toHex(pseudonym))?.revocations ?? []
  }

  /** Every signed record, in the order added: what `saveConsentStore` writes. */
  records(): readonly SignedConsent[] {
    return this.#records
  }

  /**
   * Whether the patient with this pseudonym may be trained on for `query`.
   * Each receipt gets its `consentStatus`, with the revocation that applies to
   * it (`revocationTimeFor`). With at least one valid receipt the patient is
   * `consented`, on the valid receipt with the latest validFrom (ties: the
   * smallest receipt hash), so the choice is the same on every run. Otherwise
   * the first of `revoked`, `expired`, `notYetValid` that some receipt has,
   * else `noConsent` (no receipt, or only receipts for another study or
   * purpose).
   */
  decide(pseudonym: Uint8Array, query: ConsentDecisionQuery): ConsentDecisionResult {
    const patient = this.#byPseudonym.get(toHex(pseudonym))
    if (patient === undefined) return { kind: 'noConsent' }
    let best: StoredReceipt | undefined
    const seen = new Set<ConsentStatus>()
    for (const stored of patient.receipts) {
      const revokedAtMs = revocationTimeFor(stored.receipt, patient.revocations)
      const status = consentStatus(stored.receipt, { ...query, ...(revokedAtMs === undefined ? {} : { revokedAtMs }) })
      seen.add(status)
      if (status === 'valid' && (best === undefined || isPreferred(stored, best))) best = stored
    }
    if (best !== undefined) return { kind: 'consented', receipt: best }
    if (seen.has('revoked')) return { kind: 'revoked' }
    if (seen.has('expired')) return { kind: 'expired' }
    if (seen.has('not-yet-valid')) return { kind: 'notYetValid' }
    return { kind: 'noConsent' }
  }

  /**
   * The withdrawals that apply by `atMs`: every pseudonym holding a receipt
   * for `study` that one of its revocations revokes (`revocationTimeFor`)
   * at a time <= atMs, with the earliest such time. Sorted by pseudonym. A
   * revocation that revokes no receipt held (a refusal imported on its own)
   * is not listed: there is nothing the site could have trained on.
   */
  revokedAt(study: string, atMs: number): { readonly pseudonym: Uint8Array; readonly time: number }[] {
    const out: { pseudonymHex: string; pseudonym: Uint8Array; time: number }[] = []
    for (const [pseudonymHex, patient] of this.#byPseudonym) {
      if (patient.revocations.length === 0) continue
      let earliest: number | undefined
      for (const stored of patient.receipts) {
        if (stored.receipt.study !== study) continue
        const time = revocationTimeFor(stored.receipt, patient.revocations)
        if (time !== undefined && time <= atMs && (earliest === undefined || time < earliest)) earliest = time
      }
      if (earliest !== undefined) out.push({ pseudonymHex, pseudonym: fromHex(pseudonymHex), time: earliest })
    }
    out.sort((a, b) => (a.pseudonymHex < b.pseudonymHex ? -1 : a.pseudonymHex > b.pseudonymHex ? 1 : 0))
    return out.map(({ pseudonym, time }) => ({ pseudonym, time }))
  }

  /** The stored receipt of `pseudonym` whose consent-tree receipt hash is `receiptHash`, if held. */
  receiptByHash(pseudonym: Uint8Array, receiptHash: Uint8Array): StoredReceipt | undefined {
    return this.receiptsOf(pseudonym).find((r) => equalBytes(r.leaf.receiptHash, receiptHash))
  }

  #trusts(signer: Uint8Array, pseudonymHex: string): boolean {
    if (this.#init.authorities.some((k) => equalBytes(k, signer))) return true
    const own = this.#init.patientKeys?.get(pseudonymHex)
    return own !== undefined && equalBytes(own, signer)
  }
}

function isPreferred(a: StoredReceipt, b: StoredReceipt): boolean {
  if (a.receipt.validFrom !== b.receipt.validFrom) return a.receipt.validFrom > b.receipt.validFrom
  return toHex(a.leaf.receiptHash) < toHex(b.leaf.receiptHash)
}

/** `format` of the store file. */
export const CONSENT_STORE_FORMAT = 'fedlineage/consent-store/v1'

/**
 * Writes every record of the store to `path` as JSON
 * `{ format, records: [hex of encodeSignedConsent] }`, atomically (a
 * temporary file renamed over the old one) and readable by the owner only.
 */
export async function saveConsentStore(store: Pick<ConsentStore, 'records'>, path: string): Promise<void> {
  const body = { format: CONSENT_STORE_FORMAT, records: store.records().map((s) => toHex(encodeSignedConsent(s))) }
  const temporary = `${path}.tmp-${process.pid}`
  await writeFile(temporary, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o600 })
  await rename(temporary, path)
}

/**
 * Reads a store written by `saveConsentStore`, verifying every record again
 * under `init` (a key no longer trusted makes the file fail to load rather
 * than silently drop consents). A missing file is an empty store. Throws
 * ConsentStoreCorruptError naming the path and the record.
 */
export async function loadConsentStore(path: string, init: ConsentStoreInit): Promise<ConsentStore> {
  const store = new ConsentStore(init)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return store
    throw new ConsentStoreCorruptError(`${path}: cannot read the consent store (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: err })
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new ConsentStoreCorruptError(`${path}: not JSON (${(err as Error).message})`, { cause: err })
  }
  const { format, records } = (body ?? {}) as { format?: unknown; records?: unknown }
  if (format !== CONSENT_STORE_FORMAT) throw new ConsentStoreCorruptError(`${path}: format is ${JSON.stringify(format)}, want "${CONSENT_STORE_FORMAT}"`)
  if (!Array.isArray(records)) throw new ConsentStoreCorruptError(`${path}: records is not an array`)
  records.forEach((hex: unknown, i) => {
    try {
      store.add(decodeSignedConsent(fromHex(String(hex))))
    } catch (err) {
      if (!(err instanceof LedgerError || err instanceof ProtocolError) && !(err instanceof ConsentRejectedError)) throw err
      if (err instanceof ConsentRejectedError && err.reason === 'PROTOCOL_CONSENT_UNTRUSTED_SIGNER') {
        const signer = toHex(verifyConsent(decodeSignedConsent(fromHex(String(hex)))).signer)
        throw new ConsentAuthorityUntrustedError(
          `${path}: the store is intact, but its records[${i}] (and maybe more) are signed by consent authority ${signer}, which is not among the trusted keys (${init.authorities.map(toHex).join(', ') || 'none'}): sign with the key that signed the store, or, if ${signer.slice(0, 16)}… is still an authority of this site, trust it too (\`consent import --trust ${signer}\`, and list it in the site config's consent.authorities)`,
          signer,
          { cause: err },
        )
      }
      throw new ConsentStoreCorruptError(`${path}: records[${i}]: ${err.message}`, { cause: err })
    }
  })
  return store
}
