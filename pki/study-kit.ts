/**
 * Certificates for every party of a study at once, from its CA: what
 * `fedlineage provision issue` does one party at a time, for a hub setting up
 * a whole study (and for the demo, the tests and the benchmarks).
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { issuePartyCertificate, type PartyRole } from './certificate.ts'
import { CA_CERT_FILE, createStudyCa, loadStudyCa } from './study-ca.ts'

export interface KitParty {
  readonly name: string
  readonly role: PartyRole
  /** The party's raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** The coordinator's host names and addresses. */
  readonly hosts?: readonly string[]
}

export interface StudyKit {
  /** The CA certificate every party trusts. */
  readonly caCert: string
  /** Each party's certificate file, by name. */
  readonly certs: Readonly<Record<string, string>>
}

export interface StudyKitInit {
  readonly study: string
  readonly caValidDays: number
  readonly validDays: number
}

/** Creates (or replaces) the study CA in `<dir>/ca` and writes `<dir>/<name>.crt` for each party. */
export async function provisionStudyKit(dir: string, parties: readonly KitParty[], init: StudyKitInit): Promise<StudyKit> {
  const caDir = path.join(dir, 'ca')
  await createStudyCa(caDir, init.study, { validDays: init.caValidDays, force: true })
  const ca = await loadStudyCa(caDir)
  const certs: Record<string, string> = {}
  for (const p of parties) {
    const file = path.join(dir, `${p.name}.crt`)
    await writeFile(file, issuePartyCertificate({ name: p.name, role: p.role, publicKey: p.publicKey, validDays: init.validDays, ...(p.hosts ? { hosts: p.hosts } : {}) }, ca))
    certs[p.name] = file
  }
  return { caCert: path.join(caDir, CA_CERT_FILE), certs }
}
