/**
 * A federation of a study that requires consent, for integration tests: each
 * site's consent register (a CSV the test writes) imported with the real
 * `fedlineage consent import`, and the CLI run in-process with its output
 * captured.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Command } from 'commander'
import { registerAuditorCommands } from '../../auditor/index.ts'
import type { CliIo } from '../../cli/index.ts'
import { loadSigner, registerLedgerCommands, writeIdentity, type Signer } from '../../ledger/index.ts'
import type { StudySpecInput } from '../../models/index.ts'
import { registerSiteAgentCommands } from '../../site-agent/index.ts'
import { createFederation, tempDir, type TestFederation, type TestSite } from './federation.ts'

export type CapturedIo = CliIo & { out: string[] }

export function captureIo(): CapturedIo {
  const out: string[] = []
  const sink = { write: (s: string) => out.push(s) > 0, isTTY: false }
  return { stdout: sink, stderr: sink, setExitCode: () => undefined, out } as unknown as CapturedIo
}

/** Runs `fedlineage …` in this process with the site agent's, the auditor's and the ledger's commands; resolves with what it printed. */
export async function cli(io: CapturedIo, ...args: string[]): Promise<string> {
  const program = new Command().exitOverride()
  registerSiteAgentCommands(program, io)
  registerAuditorCommands(program, io)
  registerLedgerCommands(program, io)
  const before = io.out.length
  await program.parseAsync(['node', 'fedlineage', ...args])
  return io.out.slice(before).join('')
}

/** Where a site's consent store and pseudonym secret live, relative to the federation's folder. */
export const consentFiles = (site: TestSite) => ({ store: `${site.id}.consent.json`, secretFile: `${site.id}.secret` })

export interface ConsentFederation {
  readonly fed: TestFederation
  readonly authority: Signer
  readonly authorityKeyFile: string
  readonly io: CapturedIo
}

/** A 2-site federation (manual rounds, patient ids) of `study`, each site's register from `consentCsv` imported with `consent import`. */
export async function consentFederation(study: Partial<StudySpecInput>, consentCsv: (site: TestSite) => string): Promise<ConsentFederation> {
  const keys = await tempDir('fedlineage-consent-keys-')
  const { keyFile, publicKeyHex } = await writeIdentity(keys, 'consent-authority')
  const fed = await createFederation({
    siteCount: 2,
    autoAdvance: false,
    patientIds: true,
    study,
    siteConfig: (site) => ({ consent: { ...consentFiles(site), authorities: [publicKeyHex] } }),
  })
  const io = captureIo()
  for (const site of fed.sites) {
    const csv = path.join(fed.dir, `${site.id}.consents.csv`)
    await writeFile(csv, consentCsv(site))
    const files = consentFiles(site)
    await cli(
      io,
      'consent',
      'import',
      '--csv',
      csv,
      '--store',
      path.join(fed.dir, files.store),
      '--secret',
      path.join(fed.dir, files.secretFile),
      '--authority-key',
      keyFile,
      '--study',
      fed.config.study.id,
    )
  }
  return { fed, authority: await loadSigner(keyFile), authorityKeyFile: keyFile, io }
}
