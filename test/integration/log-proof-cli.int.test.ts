/**
 * `log prove` and `log check-proof` end to end: a proof made from a real
 * LevelDB log checks with nothing but the bundle, and each alteration of the
 * entry, the path, the index or the checkpoint, or a pin to another key, is
 * refused with its own code. The three alterations that reach the root check
 * share LEDGER_ROOT_MISMATCH; each is told apart by the root it leads to
 * (`calculated`), recomputed here from the altered input. The two checkpoint
 * refusals share LEDGER_CHECKPOINT_INVALID and carry no fields: the altered
 * body is refused with no key pinned, the key case is the honest bundle
 * (which verifies) pinned to another key.
 */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Command } from 'commander'
import type { CliIo } from '../../cli/index.ts'
import {
  RFC6962_SHA256,
  checkpointVerifierKey,
  cosignatureVerifierKey,
  cosignCheckpoint,
  fromHex,
  openCheckpoint,
  openCosignatures,
  hashLeaf,
  readCheckpoint,
  registerLedgerCommands,
  rootFromInclusionProof,
  toHex,
  type InclusionBundle,
} from '../../ledger/index.ts'
import { createLedger, testDrafts, testSigner, withRawLevel } from '../helpers/ledger.ts'

const PROVED_SEQ = 13

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

/** A 40-entry LevelDB log with a checkpoint, closed, and `log prove` of entry 13 written to `file`. */
async function provedBundle(): Promise<{ file: string; bundle: InclusionBundle; coordinatorKey: string; io: CliIo & { out: string[] } }> {
  const f = await createLedger()
  await f.ledger.append(f.signer, testDrafts(40))
  await f.ledger.checkpoint(f.signer, 'proof-test')
  await f.close()
  const file = path.join(f.dir, 'proof.json')
  const io = captureIo()
  await run(io, 'log', 'prove', '--db', f.dir, '--seq', String(PROVED_SEQ), '--out', file)
  return { file, bundle: JSON.parse(await readFile(file, 'utf8')) as InclusionBundle, coordinatorKey: toHex(f.signer.publicKey), io }
}

const flip = (hex: string, at: number) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)

/** The checkpoint's root and size, as signed in the bundle. */
function checkpointOf(b: InclusionBundle) {
  return readCheckpoint({ note: b.checkpoint })
}

/** The root a bundle's entry and path lead to at its seq, in the tree of its checkpoint's size. */
function rootLedTo(b: InclusionBundle): Uint8Array {
  return rootFromInclusionProof(
    RFC6962_SHA256,
    b.seq,
    checkpointOf(b).size,
    hashLeaf(fromHex(b.entry)),
    b.proof.map((h) => fromHex(h)),
  )
}

interface Alteration {
  readonly what: string
  readonly alter: (b: InclusionBundle) => InclusionBundle
  /** Pin the checkpoint to another key than the coordinator's. */
  readonly pinOtherKey?: boolean
  /** The error the check must throw, given the honest and the altered bundle. */
  readonly error: (honest: InclusionBundle, altered: InclusionBundle) => Record<string, unknown>
}

const rootMismatch = (honest: InclusionBundle, altered: InclusionBundle) => ({ code: 'LEDGER_ROOT_MISMATCH', field: 'root', expected: checkpointOf(honest).root, calculated: rootLedTo(altered) })

const ALTERATIONS: Alteration[] = [
  { what: 'a byte of the entry', alter: (b) => ({ ...b, entry: flip(b.entry, 40) }), error: rootMismatch },
  { what: 'a hash of the path', alter: (b) => ({ ...b, proof: [flip(b.proof[0]!, 3), ...b.proof.slice(1)] }), error: rootMismatch },
  { what: 'the index', alter: (b) => ({ ...b, seq: PROVED_SEQ + 1 }), error: rootMismatch },
  { what: 'a digit of the checkpoint size', alter: (b) => ({ ...b, checkpoint: b.checkpoint.replace('\n40\n', '\n41\n') }), error: () => ({ code: 'LEDGER_CHECKPOINT_INVALID' }) },
  {
    what: 'the verifier key, for another key',
    alter: (b) => ({ ...b, verifierKey: checkpointVerifierKey('proof-test', testSigner(9).publicKey) }),
    error: () => ({ code: 'LEDGER_CHECKPOINT_INVALID' }),
  },
  { what: 'the format, to v1', alter: (b) => ({ ...b, format: 'fedlineage/inclusion-proof/v1' as never }), error: () => ({ code: 'LEDGER_CHECKPOINT_INVALID' }) },
  { what: 'nothing, but the key pinned is another', alter: (b) => b, pinOtherKey: true, error: () => ({ code: 'LEDGER_CHECKPOINT_INVALID' }) },
]

describe('log prove / log check-proof', () => {
  it('proves an entry against a signed checkpoint that checks offline under the pinned key', async () => {
    // Prepare
    const { file, coordinatorKey, io } = await provedBundle()

    // Execute
    await run(io, 'log', 'check-proof', '--proof', file, '--coordinator-key', coordinatorKey)

    // Assert
    expect(io.out.join('')).toContain(`proof verified: entry ${PROVED_SEQ} (test-record) is in the log of proof-test at size 40`)
  })

  it('fails a bundle checked without a pinned key: consistent, not verified', async () => {
    // Prepare
    const { file, io } = await provedBundle()
    // Execute + Assert
    await expect(run(io, 'log', 'check-proof', '--proof', file)).rejects.toMatchObject({
      code: 'LEDGER_PROOF_UNVERIFIED',
      message: expect.stringMatching(
        /^proof consistent, NOT verified: entry \d+ \(test-record\) is in the log of proof-test at size 40, .* which the bundle itself names; pass --coordinator-key .* or --trust-bundle-key/,
      ),
    })
    expect(io.out.join('')).not.toContain('proof verified')
  })

  it('accepts the bundle key only when told to, and says it was not pinned', async () => {
    const { file, io } = await provedBundle()
    await run(io, 'log', 'check-proof', '--proof', file, '--trust-bundle-key')
    expect(io.out.join('')).toMatch(/^proof consistent under the bundle's own key \(accepted by --trust-bundle-key, not pinned\): entry \d+ \(test-record\)/m)
  })

  it.each(ALTERATIONS)('refuses a bundle with $what', async ({ alter, pinOtherKey, error }) => {
    // Prepare
    const { file, bundle, io } = await provedBundle()
    const altered = alter(bundle)
    await writeFile(file, JSON.stringify(altered))
    const pin = pinOtherKey ? ['--coordinator-key', toHex(testSigner(9).publicKey)] : []
    const expected = error(bundle, altered)

    // Execute + Assert
    await expect(run(io, 'log', 'check-proof', '--proof', file, ...pin)).rejects.toMatchObject(expected)
  })

  it('tells the three root mismatches apart by the root each alteration leads to', async () => {
    // Prepare
    const { bundle } = await provedBundle()

    // Execute
    const roots = ALTERATIONS.slice(0, 3).map((a) => toHex(rootLedTo(a.alter(bundle))))

    // Assert: three different wrong roots, none of them the checkpoint's.
    expect(new Set([...roots, toHex(checkpointOf(bundle).root)]).size).toBe(4)
  })

  it('refuses to hand out a proof that does not check: a damaged Merkle node gives LEDGER_STORE_DAMAGED, not a bad proof', async () => {
    // Prepare: the sibling of entry 13's leaf is damaged in the store.
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(40))
    await f.ledger.checkpoint(f.signer, 'proof-test')
    await f.close()
    await withRawLevel(f.dir, async (db) => {
      const key = `node/00/${(PROVED_SEQ - 1).toString(16).padStart(16, '0')}`
      const v = new Uint8Array(await db.get(key))
      v[0]! ^= 1
      await db.put(key, v)
    })
    const file = path.join(f.dir, 'proof.json')
    // Execute / Assert
    await expect(run(captureIo(), 'log', 'prove', '--db', f.dir, '--seq', String(PROVED_SEQ), '--out', file)).rejects.toMatchObject({
      code: 'LEDGER_STORE_DAMAGED',
      message: expect.stringMatching(/run `fedlineage log verify/),
    })
    await expect(readFile(file, 'utf8')).rejects.toThrow()
  })
})

describe('log checkpoint', () => {
  it("prints the newest checkpoint note with its witnesses' cosignature lines, and the verifier key", async () => {
    // Prepare
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(5))
    await f.ledger.checkpoint(f.signer, 'proof-test')
    await f.ledger.append(f.signer, testDrafts(3, 5))
    const newest = await f.ledger.checkpoint(f.signer, 'proof-test')
    const witness = testSigner(4)
    await f.ledger.addCosignature(8, cosignCheckpoint(witness, newest, 1_700_000_000))
    await f.close()
    const io = captureIo()
    // Execute
    await run(io, 'log', 'checkpoint', '--db', f.dir)
    // Assert
    const printed = io.out.join('')
    const note = printed.slice(printed.indexOf('proof-test\n'))
    expect(printed).toContain(`verifier key: ${checkpointVerifierKey('proof-test', f.signer.publicKey)}\n`)
    expect(openCheckpoint({ note }, f.signer.publicKey, 'proof-test').size).toBe(8)
    expect(openCosignatures({ note }, [witness.publicKey])).toHaveLength(1)
  })
})

describe('log prove --format tlog-proof / log check-proof', () => {
  it('writes a c2sp.org/tlog-proof@v1 with the cosigned checkpoint; it checks under the pinned key or verifier key, and not without one', async () => {
    // Prepare
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(40))
    const signed = await f.ledger.checkpoint(f.signer, 'proof-test')
    const witness = testSigner(4)
    await f.ledger.addCosignature(40, cosignCheckpoint(witness, signed, 1_700_000_000))
    await f.close()
    const file = path.join(f.dir, 'entry.tlog-proof')
    const vkey = checkpointVerifierKey('proof-test', f.signer.publicKey)

    // Execute
    await run(captureIo(), 'log', 'prove', '--db', f.dir, '--seq', String(PROVED_SEQ), '--format', 'tlog-proof', '--out', file)
    const text = await readFile(file, 'utf8')
    const byKey = captureIo()
    await run(byKey, 'log', 'check-proof', '--proof', file, '--coordinator-key', toHex(f.signer.publicKey))
    const byVkey = captureIo()
    await run(byVkey, 'log', 'check-proof', '--proof', file, '--verifier-key', vkey)
    // Each refusal is awaited before the file changes: the checks read it.
    const refusal = (p: Promise<void>) =>
      p.then(
        () => 'accepted',
        (err: unknown) => err,
      )
    const unpinned = await refusal(run(captureIo(), 'log', 'check-proof', '--proof', file))
    const otherKey = await refusal(run(captureIo(), 'log', 'check-proof', '--proof', file, '--coordinator-key', toHex(testSigner(9).publicKey)))
    await writeFile(file, text.replace(`index ${PROVED_SEQ}\n`, `index ${PROVED_SEQ + 1}\n`))
    const moved = await refusal(run(captureIo(), 'log', 'check-proof', '--proof', file, '--verifier-key', vkey))

    // Assert
    expect(text).toMatch(new RegExp(`^c2sp\\.org/tlog-proof@v1\\nextra \\S+\\nindex ${PROVED_SEQ}\\n(\\S{44}\\n){6}\\nproof-test\\n40\\n`))
    expect(openCosignatures({ note: text.slice(text.indexOf('\n\n') + 2) }, [witness.publicKey])).toHaveLength(1)
    expect(byKey.out.join('')).toContain(`proof verified: entry ${PROVED_SEQ} (test-record) is in the log of proof-test at size 40`)
    expect(byVkey.out.join('')).toContain(`proof verified: entry ${PROVED_SEQ} (test-record)`)
    expect(unpinned).toMatchObject({ code: 'LEDGER_PROOF_UNVERIFIED' })
    expect(otherKey).toMatchObject({ code: 'LEDGER_CHECKPOINT_INVALID' })
    expect(moved).toMatchObject({ code: 'LEDGER_ROOT_MISMATCH' })
  })

  it("with --policy, requires the checkpoint's cosignatures to meet the quorum; a JSON bundle, which has none, is refused", async () => {
    // Prepare: a checkpoint cosigned by witness A; a policy of witnesses A and B.
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(40))
    const signed = await f.ledger.checkpoint(f.signer, 'proof-test')
    const [a, b] = [testSigner(4), testSigner(5)]
    await f.ledger.addCosignature(40, cosignCheckpoint(a, signed, 1_700_000_000))
    await f.close()
    const file = path.join(f.dir, 'entry.tlog-proof')
    const json = path.join(f.dir, 'entry.json')
    const vkey = checkpointVerifierKey('proof-test', f.signer.publicKey)
    const policy = async (quorum: string) => {
      const p = path.join(f.dir, `policy-${quorum.replace(/\W/g, '-')}.txt`)
      await writeFile(p, `log ${vkey}\nwitness A ${cosignatureVerifierKey(a.publicKey)}\nwitness B ${cosignatureVerifierKey(b.publicKey)}\ngroup both all A B\ngroup one any A B\nquorum ${quorum}\n`)
      return p
    }
    await run(captureIo(), 'log', 'prove', '--db', f.dir, '--seq', String(PROVED_SEQ), '--format', 'tlog-proof', '--out', file)
    await run(captureIo(), 'log', 'prove', '--db', f.dir, '--seq', String(PROVED_SEQ), '--out', json)

    // Execute / Assert (each rejection awaited as it is made: none may go unhandled)
    const met = captureIo()
    await run(met, 'log', 'check-proof', '--proof', file, '--verifier-key', vkey, '--policy', await policy('one'))
    expect(met.out.join('')).toContain("; cosigned by A, meeting the policy's quorum")
    await expect(run(captureIo(), 'log', 'check-proof', '--proof', file, '--verifier-key', vkey, '--policy', await policy('both'))).rejects.toMatchObject({
      code: 'LEDGER_WITNESS_QUORUM_NOT_MET',
      message: expect.stringContaining('cosigned by A of the policy'),
    })
    await expect(run(captureIo(), 'log', 'check-proof', '--proof', file, '--coordinator-key', toHex(f.signer.publicKey), '--policy', await policy('none'))).resolves.toBeUndefined()
    await expect(run(captureIo(), 'log', 'check-proof', '--proof', json, '--coordinator-key', toHex(f.signer.publicKey), '--policy', await policy('one'))).rejects.toMatchObject({
      code: 'LEDGER_INVALID_ARGUMENT',
    })
  })
})
