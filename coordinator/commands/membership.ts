/**
 * `fedlineage membership enroll|remove`: the research hub enrols a site in a
 * running study, or removes one, with a request signed by the hub key. The
 * coordinator logs it (`site-enrolled` / `site-removed`) and the next round
 * plans accordingly; no restart, and the audit re-decides the request.
 */
import type { Command } from 'commander'
import { readFile } from 'node:fs/promises'
import { loadSigner, parsePublicKey } from '../../ledger/index.ts'
import { CoordinatorConfigError } from '../errors.ts'
import { addConnectOptions, connectHub, type ConnectOptions } from './connect-options.ts'

type MembershipOptions = ConnectOptions & { key: string; site: string; publicKey?: string; pubFile?: string }

async function siteKeyOf(opts: MembershipOptions): Promise<Uint8Array> {
  if (opts.publicKey !== undefined) return parsePublicKey(opts.publicKey, '--public-key')
  if (opts.pubFile !== undefined) return parsePublicKey((await readFile(opts.pubFile, 'utf8')).trim(), `--pub-file ${opts.pubFile}`)
  throw new CoordinatorConfigError("enrolling a site needs its public key: --public-key HEX or --pub-file FILE (the site's .pub file)")
}

function common(cmd: Command): Command {
  return addConnectOptions(cmd.requiredOption('--coordinator <host:port>', 'coordinator address').requiredOption('--key <file>', 'the hub key file').requiredOption('--site <id>', 'the site id'))
}

export function registerMembershipCommands(program: Command): void {
  const membership = program.command('membership').description('research hub: enrol or remove a site while the study runs')
  common(membership.command('enroll').description('enrol a site with its public key; it is planned from the next round on (issue its TLS certificate with `fedlineage provision issue`)'))
    .option('--public-key <hex>', "the site's Ed25519 public key (64 hex digits)")
    .option('--pub-file <file>', "the site's .pub file")
    .action(async (opts: MembershipOptions) => {
      const publicKey = await siteKeyOf(opts)
      const client = await connectHub(opts, (line) => process.stderr.write(`${line}\n`))
      try {
        const res = await client.changeMembership(await loadSigner(opts.key), { action: 'enroll', site: opts.site, publicKey })
        process.stdout.write(`site "${opts.site}" enrolled (log entry ${res.logSeq}); the next round plans it\n`)
      } finally {
        client.close()
      }
    })
  common(membership.command('remove').description('remove a site: no later round plans it, and its evaluations are no longer awaited')).action(async (opts: MembershipOptions) => {
    const client = await connectHub(opts, (line) => process.stderr.write(`${line}\n`))
    try {
      const res = await client.changeMembership(await loadSigner(opts.key), { action: 'remove', site: opts.site })
      process.stdout.write(`site "${opts.site}" removed (log entry ${res.logSeq}); the next round leaves it out\n`)
    } finally {
      client.close()
    }
  })
}
