/**
 * A site's records as the study sees them: read once from the site's data
 * source, filtered by consent (in a study that asks for it) at a given time,
 * and split and standardised exactly as the study's DataSchema says.
 *
 * One pipeline for every reader of a site's data — the agent training and
 * evaluating, `fedlineage site check` before anything trains, and
 * `fedlineage predict --site-config` reproducing the site's reported
 * metrics — so the three can never disagree on a row.
 */
import type { StudySpec } from '../models/index.ts'
import { parsePublicKey } from '../ledger/index.ts'
import type { SiteConfig } from './config.ts'
import type { RoundConsent } from './consent/round-consent.ts'
import { SiteConsent } from './consent/site-consent.ts'
import { prepareSplits, type PreparedData } from './data/index.ts'
import { readSiteRecords, type SiteRecords } from './data-source.ts'
import { SiteConfigError, SiteStudyMismatchError } from './errors.ts'

export interface PreparedAt {
  readonly prepared: PreparedData
  /** The round's consent decision, in a study with consent. */
  readonly consent?: RoundConsent
}

export class SiteData {
  private constructor(
    private readonly config: SiteConfig,
    private readonly spec: StudySpec,
    /** The local records as read, before consent and splits. */
    readonly records: SiteRecords,
    /** The consent files, in a study with consent. */
    readonly consent: SiteConsent | undefined,
  ) {}

  /**
   * Reads the site's records for `spec` and opens its consent files when the
   * study asks for consent. `warn` hears what is odd but not fatal (a consent
   * config the study does not use). Throws the data source's errors, and
   * SiteConfigError / SiteStudyMismatchError when the site cannot honour the
   * study's consent terms.
   */
  static async open(config: SiteConfig, spec: StudySpec, warn: (message: string) => void = () => undefined): Promise<SiteData> {
    const records = await readSiteRecords(config.data, spec.data)
    return new SiteData(config, spec, records, await openConsent(config, spec, warn))
  }

  /** The train and validation splits of the records that may be used at `atMs` (all of them in a study without consent). */
  async prepare(atMs: number): Promise<PreparedAt> {
    const raw = this.records
    const input = raw.validation === undefined ? [raw.train] : [raw.train, raw.validation]
    const consent = this.consent ? await this.consent.decide(input, atMs) : undefined
    const [train, validation] = consent ? consent.tables : input
    const source = this.config.data
    const prepared = !('train' in source)
      ? prepareSplits(train!, this.spec.data, { kind: 'fraction', validationFraction: source.validationFraction, seed: source.splitSeed })
      : prepareSplits(train!, this.spec.data, { kind: 'tables', validation: validation! })
    return consent ? { prepared, consent } : { prepared }
  }
}

/** The consent files, when the study requires consent; refuses a site that cannot honour it. */
async function openConsent(config: SiteConfig, spec: StudySpec, warn: (message: string) => void): Promise<SiteConsent | undefined> {
  const own = config.consent
  if (spec.consent === undefined) {
    if (own) warn('the study does not require consent: the consent config is ignored and every record is used')
    return undefined
  }
  if (!own) {
    throw new SiteConfigError(
      `study "${spec.id}" requires consent for purpose ${spec.consent.purpose}: add "consent": { "store", "secretFile", "authorities" } to the site config, and import consents with \`fedlineage consent import\``,
    )
  }
  if (own.purpose !== undefined && own.purpose !== spec.consent.purpose) {
    throw new SiteStudyMismatchError(`study "${spec.id}" asks consent for purpose ${spec.consent.purpose}, this site agreed to ${own.purpose} (consent.purpose in the site config)`)
  }
  return SiteConsent.open({
    site: config.siteId,
    study: spec.id,
    purpose: spec.consent.purpose,
    // The spec parser requires the column whenever consent is set.
    patientIdColumn: spec.data.patientIdColumn!,
    storeFile: own.store,
    secretFile: own.secretFile,
    authorities: own.authorities.map((k, i) => parsePublicKey(k, `consent.authorities[${i}]`)),
    roundsDir: own.roundsDir!,
  })
}
