/** `fedlineage round start`: the research hub opens the next round (signed by the hub key). */
import { loadSigner, toHex } from '../../ledger/index.ts'
import { connectHub, type ConnectOptions } from './connect-options.ts'

export async function roundStart(opts: ConnectOptions & { readonly key: string }): Promise<void> {
  const signer = await loadSigner(opts.key)
  const client = await connectHub(opts, (line) => process.stderr.write(`${line}\n`))
  try {
    const res = await client.startNextRound(signer)
    process.stdout.write(`round ${res.round} opened from model ${toHex(res.baseModelHash).slice(0, 16)} (log entry ${res.logSeq})\n`)
  } finally {
    client.close()
  }
}
