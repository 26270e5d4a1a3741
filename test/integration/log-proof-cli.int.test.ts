/**
 * `log prove` and `log check-proof` end to end: a proof made from a real
 * LevelDB log checks with nothing but the bundle, and fails when the entry,
 * the path or the checkpoint is altered, or when pinned to another key.
 */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Command } from 'commander'
import { registerLedgerCommands, type CliIo } from '../../ledger/index.ts'
import { createLedger, testDrafts, testSigner } from '../helpers/ledger.ts'

function captureIo(): CliIo & { out: string[] } {
  const out: string[] = []
  const sink = { write: (s: string) => out.push(s) > 0, isTTY: false }
  return { stdout: sink, stderr: sink, out } as unknown as CliIo & { out: string[] }
}

async function run(io: CliIo, ...args: string[]): Promise<void> {
  const program = new Command().exitOverride()
  registerLedgerCommands(program, io)
  await program.parseAsync(['node', 'fedlineage', ...args])
}

describe('log prove / log check-proof', () => {
  it('proves an entry against a signed checkpoint and refuses altered bundles', async () => {
    // Prepare: a 40-entry log with a checkpoint, closed so the CLI can open it.
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(40))
    await f.ledger.checkpoint(f.signer, 'proof-test', 1)
    await f.close()
    const file = path.join(f.dir, 'proof.json')
    const io = captureIo()

    // Execute
    await run(io, 'log', 'prove', '--db', f.dir, '--seq', '13', '--out', file)
    await run(io, 'log', 'check-proof', '--proof', file, '--coordinator-key', Buffer.from(f.signer.publicKey).toString('hex'))

    // Assert: the honest bundle checks; each alteration is refused with its code.
    expect(io.out.join('')).toContain('proof verified: entry 13 (test-record) is in the log of proof-test at size 40')
    const bundle = JSON.parse(await readFile(file, 'utf8'))
    const flip = (hex: string, at: number) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)
    const cases: [string, object, string[]][] = [
      ['entry', { ...bundle, entry: flip(bundle.entry, 40) }, []],
      ['path', { ...bundle, proof: [flip(bundle.proof[0], 3), ...bundle.proof.slice(1)] }, []],
      ['index', { ...bundle, seq: 14 }, []],
      ['checkpoint', { ...bundle, checkpoint: { ...bundle.checkpoint, body: flip(bundle.checkpoint.body, 80) } }, []],
      ['key', bundle, ['--coordinator-key', Buffer.from(testSigner(9).publicKey).toString('hex')]],
    ]
    for (const [what, altered, extra] of cases) {
      await writeFile(file, JSON.stringify(altered))
      await expect(run(io, 'log', 'check-proof', '--proof', file, ...extra), what).rejects.toMatchObject({ code: expect.stringMatching(/^LEDGER_(ROOT_MISMATCH|CHECKPOINT_INVALID|ENTRY_MALFORMED)$/) })
    }
  })
})
