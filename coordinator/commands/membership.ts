/**
 * `fedlineage membership enroll|remove`: the research hub enrols a site in a
 * running study, or removes one, with a request signed by the hub key. The
 * coordinator logs it (`site-enrolled` / `site-removed`) and the next round
 * plans accordingly; no restart, and the audit re-decides the request.
 */
import { readFile } from 'node:fs/promises'
import { loadSigner, parsePublicKey } from '../../ledger/index.ts'
import { CoordinatorConfigError } from '../errors.ts'
import { connectHub, type ConnectOptions } from './connect-options.ts'

export type MembershipOptions = ConnectOptions & { key: string; site: string; publicKey?: string; pubFile?: string }

async function siteKeyOf(opts: MembershipOptions): Promise<Uint8Array> {
  if (opts.publicKey !== undefined) return parsePublicKey(opts.publicKey, '--public-key')
  if (opts.pubFile !== undefined) return parsePublicKey((await readFile(opts.pubFile, 'utf8')).trim(), `--pub-file ${opts.pubFile}`)
  throw new CoordinatorConfigError("enrolling a site needs its public key: --public-key HEX or --pub-file FILE (the site's .pub file)")
}

/** `membership enroll`: the site is planned from the next round on. */
export async function membershipEnroll(opts: MembershipOptions): Promise<void> {
  const publicKey = await siteKeyOf(opts)
  const client = await connectHub(opts, (line) => process.stderr.write(`${line}\n`))
  try {
    const res = await client.changeMembership(await loadSigner(opts.key), { action: 'enroll', site: opts.site, publicKey })
    process.stdout.write(`site "${opts.site}" enrolled (log entry ${res.logSeq}); the next round plans it\n`)
  } finally {
    client.close()
  }
}

/** `membership remove`: no later round plans the site. */
export async function membershipRemove(opts: MembershipOptions): Promise<void> {
  const client = await connectHub(opts, (line) => process.stderr.write(`${line}\n`))
  try {
    const res = await client.changeMembership(await loadSigner(opts.key), { action: 'remove', site: opts.site })
    process.stdout.write(`site "${opts.site}" removed (log entry ${res.logSeq}); the next round leaves it out\n`)
  } finally {
    client.close()
  }
}
