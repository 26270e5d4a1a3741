/**
 * The agent's consent files, opened once per run: the pseudonym secret, the
 * consent store (read again whenever its file changes, so a revocation
 * imported with `fedlineage consent import` while the agent runs is honoured
 * from the next round that opens after it), and the folder of per-round
 * consent leaves (rounds.ts). The decisions themselves are pure
 * (round-consent.ts).
 */
import { stat } from 'node:fs/promises'
import type { RawTable } from '../data/raw-table.ts'
import { loadConsentStore, type ConsentStore } from './store.ts'
import { roundConsent, type RoundConsent } from './round-consent.ts'
import { saveConsentRound } from './rounds.ts'
import { loadSiteSecret } from './secret.ts'

export interface SiteConsentInit {
  readonly site: string
  readonly study: string
  readonly purpose: string
  readonly patientIdColumn: string
  readonly storeFile: string
  readonly secretFile: string
  /** Consent authorities whose receipts and revocations the store trusts. */
  readonly authorities: readonly Uint8Array[]
  readonly roundsDir: string
}

export class SiteConsent {
  #store: ConsentStore | undefined
  #storeVersion = ''

  private constructor(
    readonly init: SiteConsentInit,
    private readonly secret: Uint8Array,
  ) {}

  /** Reads the secret (refusing a missing one) and the store. Throws SiteConfigError or ConsentStoreCorruptError. */
  static async open(init: SiteConsentInit): Promise<SiteConsent> {
    const consent = new SiteConsent(init, await loadSiteSecret(init.secretFile))
    await consent.store()
    return consent
  }

  /** The store as its file is now (a missing file is an empty store). */
  async store(): Promise<ConsentStore> {
    const version = await fileVersion(this.init.storeFile)
    if (this.#store === undefined || version !== this.#storeVersion) {
      this.#store = await loadConsentStore(this.init.storeFile, { authorities: this.init.authorities })
      this.#storeVersion = version
    }
    return this.#store
  }

  /** The round's consent at `atMs` over `tables` (round-consent.ts), with the store as it is now. */
  async decide(tables: readonly RawTable[], atMs: number): Promise<RoundConsent> {
    const { study, purpose, patientIdColumn } = this.init
    return roundConsent(tables, await this.store(), { study, purpose, atMs, siteSecret: this.secret, patientIdColumn })
  }

  /** Keeps round `round`'s leaves, for `fedlineage consent prove`. */
  async keep(round: number, consent: RoundConsent): Promise<void> {
    await saveConsentRound(this.init.roundsDir, { study: this.init.study, site: this.init.site, round, at: consent.claim.at, leaves: consent.result.usedLeaves })
  }
}

/** Inode, size and modification time: what says a store file changed (saves replace it by rename). */
async function fileVersion(file: string): Promise<string> {
  try {
    const info = await stat(file)
    return `${info.ino}/${info.size}/${info.mtimeMs}`
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw err
  }
}
