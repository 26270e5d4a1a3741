/**
 * `fedlineage consent import (--fhir FILE [--ndjson] | --csv FILE) --store FILE
 * --secret FILE --authority-key KEYFILE --study ID [--trust HEX...]`: reads a
 * consent register export (FHIR R4 Consent resources or CSV), signs each
 * decision with the site's consent authority key, adds them to the consent
 * store and saves it, then prints the import report: counts, and each
 * resource or row that was not imported with its id, location and field.
 *
 * The pseudonym secret is created (32 random bytes, mode 0600) on the first
 * import if `--secret` names no file; the site agent and `consent prove`
 * refuse to run without it. Keep it: a new secret gives every patient a new
 * pseudonym. The store trusts the authority key and any `--trust` keys; the
 * site config's `consent.authorities` must list the same keys.
 */
import { readFile } from 'node:fs/promises'
import type { CliIo } from '../../cli/index.ts'
import { loadSigner, parsePublicKey, toHex } from '../../ledger/index.ts'
import { verifyConsent } from '../../protocol/index.ts'
import { importCsvConsents } from '../consent/csv.ts'
import { importFhirConsents } from '../consent/fhir.ts'
import type { ConsentImportResult } from '../consent/import-report.ts'
import { loadOrCreateSiteSecret } from '../consent/secret.ts'
import { loadConsentStore, saveConsentStore } from '../consent/store.ts'
import { SiteConfigError } from '../errors.ts'

/** The command's options, as commander parses them. */
export interface ConsentImportOptions {
  readonly fhir?: string
  readonly csv?: string
  readonly ndjson?: boolean
  readonly store: string
  readonly secret: string
  readonly authorityKey: string
  readonly study: string
  readonly trust?: readonly string[]
}

/** What an import did, for callers and tests. */
export interface ConsentImportOutcome {
  readonly result: ConsentImportResult
  readonly added: number
  readonly duplicates: number
  readonly secretCreated: boolean
  readonly store: { readonly receipts: number; readonly revocations: number }
}

/** Runs the import and prints its report. Throws SiteConfigError, ConsentImportError, ConsentStoreCorruptError, IdentityFileError. */
export async function consentImport(opts: ConsentImportOptions, io: CliIo): Promise<ConsentImportOutcome> {
  if ((opts.fhir === undefined) === (opts.csv === undefined)) {
    throw new SiteConfigError('give exactly one of --fhir FILE (a FHIR R4 Bundle, or NDJSON with --ndjson) or --csv FILE: `fedlineage consent import --csv consents.csv …`')
  }
  if (opts.ndjson && opts.fhir === undefined) throw new SiteConfigError('--ndjson applies to --fhir only')
  const input = (opts.fhir ?? opts.csv)!
  const trusted = (opts.trust ?? []).map((k, i) => parsePublicKey(k, `--trust[${i}]`))
  const authority = await loadSigner(opts.authorityKey)
  let text: string
  try {
    text = await readFile(input, 'utf8')
  } catch (err) {
    throw new SiteConfigError(`${input}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: err })
  }
  const { secret, created } = await loadOrCreateSiteSecret(opts.secret)
  const init = { siteSecret: secret, study: opts.study, authority, source: input }
  const result = opts.fhir !== undefined ? importFhirConsents(text, { ...init, format: opts.ndjson ? 'ndjson' : 'bundle' }) : importCsvConsents(text, init)
  const store = await loadConsentStore(opts.store, { authorities: [authority.publicKey, ...trusted] })
  const { added, duplicates } = store.addImport(result)
  await saveConsentStore(store, opts.store)
  // A revocation counts against training only where it withdraws a consent the store holds for the study;
  // one for a patient who never consented (a refusal on its own) changes nothing. Say which is which.
  const imported = new Set(result.revocations.map((r) => toHex(verifyConsent(r).pseudonym)))
  const withdrawing = store.revokedAt(opts.study, Number.MAX_SAFE_INTEGER).filter((w) => imported.has(toHex(w.pseudonym))).length

  const c = result.counts
  const lines = [
    `consent import from ${input} for study ${opts.study}: ${c.read} read, ${c.receipts} receipts, ${c.revocations} revocations, ${c.ignored} ignored, ${c.invalid} invalid, ${c.skipped} other resources skipped`,
    `signed by consent authority ${toHex(authority.publicKey)}`,
    `store ${opts.store}: ${added} new records (${duplicates} already held); it now holds ${store.size.receipts} receipts and ${store.size.revocations} revocations`,
  ]
  if (c.revocations > 0)
    lines.push(
      `revocations: ${withdrawing} of the ${imported.size} patients revoking withdraw a consent the store holds for ${opts.study} (their records are left out of training from the revocation's time on, and the audit logs each once a round has trained on them); ${imported.size - withdrawing} revoke no consent held (a refusal on its own: nothing to leave out)`,
    )
  if (created) lines.push(`created the pseudonym secret ${opts.secret} (mode 0600): keep it with the store; a new secret gives every patient a new pseudonym`)
  if (result.errors.length > 0) {
    lines.push(`not imported (${result.errors.length}):`)
    for (const e of result.errors) lines.push(`  ${e.location}${e.id === null ? '' : ` id ${JSON.stringify(e.id)}`}: ${e.field}: ${e.message}`)
  }
  io.stdout.write(`${lines.join('\n')}\n`)
  return { result, added, duplicates, secretCreated: created, store: store.size }
}
