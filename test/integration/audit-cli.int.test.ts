/**
 * `fedlineage audit` in-process, on a real federation's LevelDB ledger: the
 * summary on stdout, the JSON report, and the exit status with one
 * `CODE: message` line on stderr from the top-level handler.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { registerAuditorCommands, type AuditReport } from '../../auditor/index.ts'
import { runCommand, type CliIo } from '../../cli/index.ts'
import { Ledger, openLevelStorage, toHex } from '../../ledger/index.ts'
import { createTempDir, testSigner } from '../helpers/ledger.ts'
import { findRecord, readBlob, storeBlobAs, useRecordedFederation } from '../helpers/audit.ts'

const recorded = useRecordedFederation()

interface Run {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `fedlineage <args>` with the auditor's commands and the shared top-level handler. */
async function fedlineage(args: readonly string[], tty = false): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const out = new PassThrough().on('data', (c: Buffer) => (stdout += c.toString()))
  const err = Object.assign(
    new PassThrough().on('data', (c: Buffer) => (stderr += c.toString())),
    { isTTY: tty },
  )
  const io: CliIo = { stdout: out, stderr: err, setExitCode: () => undefined }
  const program = registerAuditorCommands(
    new Command()
      .name('fedlineage')
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) }),
    io,
  )
  const status = await runCommand(() => program.parseAsync(args, { from: 'user' }), { io })
  return { status, stdout, stderr }
}

async function readReport(file: string): Promise<AuditReport> {
  return JSON.parse(await readFile(file, 'utf8')) as AuditReport
}

describe('fedlineage audit', () => {
  it('prints the summary, writes the report and exits 0 for an honest log', async () => {
    // Prepare
    const log = await recorded()
    const reportFile = path.join(await createTempDir(), 'audit.json')

    // Execute
    const run = await fedlineage(['audit', '--db', log.dir, '--report', reportFile])

    // Assert
    expect(run.status).toBe(0)
    expect(run.stderr).toBe('')
    // The whole log matches the coordinator's newest signed checkpoint, whose size and root the verdict names.
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^audit passed: 3 rounds re-derived, ${log.entries.length} entries, checkpoint ${log.entries.length} [0-9a-f]{64}$`))
    expect(run.stdout).toMatch(/^lineage: [0-9a-f]{12} \(genesis\) → [0-9a-f]{12} \(round 1\) → [0-9a-f]{12} \(round 2\) → [0-9a-f]{12} \(round 3\)$/m)
    const report = await readReport(reportFile)
    expect(report).toMatchObject({ ok: true, study: log.spec.id, entries: log.entries.length })
  })

  it('prints `CODE: message`, still writes the report, and exits 1 for a dishonest log', async () => {
    // Prepare: a swapped delta blob.
    const log = await recorded()
    const [a, b] = log.records.filter((r) => r.kind === 'update-accepted' && r.body.round === 1)
    if (a?.kind !== 'update-accepted' || b?.kind !== 'update-accepted') throw new Error('round 1 has two updates')
    await storeBlobAs(log.dir, a.body.delta, await readBlob(log.dir, b.body.delta))
    const reportFile = path.join(await createTempDir(), 'audit.json')

    // Execute
    const run = await fedlineage(['audit', '--db', log.dir, '--report', reportFile])

    // Assert
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(new RegExp(`^AUDIT_BLOB_MISMATCH: entry ${a.seq} \\(update-accepted\\): .+\\n$`))
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^audit FAILED at entry ${a.seq}: AUDIT_BLOB_MISMATCH: entry ${a.seq} `))
    const report = await readReport(reportFile)
    expect(report).toMatchObject({ ok: false, entries: a.seq, failure: { seq: a.seq, code: 'AUDIT_BLOB_MISMATCH' } })
  })

  it('checks the log against a pinned coordinator key', async () => {
    // Prepare
    const log = await recorded()

    // Execute
    const right = await fedlineage(['audit', '--db', log.dir, '--coordinator-key', toHex(log.coordinator.publicKey)])
    const wrong = await fedlineage(['audit', '--db', log.dir, '--coordinator-key', toHex(testSigner(3).publicKey)])

    // Assert
    expect(right.status).toBe(0)
    expect(wrong.status).toBe(1)
    expect(wrong.stderr).toMatch(/^AUDIT_AUTHOR_UNTRUSTED: entry 0 \(study-created\): /)
  })

  it.each([
    { desc: 'a malformed --coordinator-key', args: (dir: string) => ['audit', '--db', dir, '--coordinator-key', 'abc'], code: 'AUDIT_INVALID_ARGUMENT' },
    { desc: 'an --db that holds no ledger', args: (dir: string) => ['audit', '--db', path.join(dir, 'missing')], code: 'LEDGER_DATABASE_MISSING' },
  ])('refuses $desc: $code', async ({ args, code }) => {
    // Prepare
    const dir = await createTempDir()

    // Execute
    const run = await fedlineage(args(dir))

    // Assert
    expect(run.status).toBe(1)
    expect(run.stderr.startsWith(`${code}: `)).toBe(true)
    expect(run.stdout).toBe('')
  })

  it('audits a ledger a running coordinator holds from a consistent snapshot of it, and says so', async () => {
    // Prepare
    const log = await recorded()
    const holder = await Ledger.open(await openLevelStorage(log.dir))

    // Execute
    const run = await fedlineage(['audit', '--db', log.dir]).finally(() => holder.close())

    // Assert
    expect(run.status).toBe(0)
    expect(run.stderr).toMatch(new RegExp(`^${log.dir} is in use by another process .*: reading a consistent snapshot of it`))
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^audit passed: 3 rounds re-derived, ${log.entries.length} entries, checkpoint ${log.entries.length} `))
  })

  it('draws a progress bar on stderr when it is a terminal, and clears it', async () => {
    // Prepare
    const log = await recorded()
    const created = findRecord(log.records, 'study-created')

    // Execute
    const run = await fedlineage(['audit', '--db', log.dir], true)

    // Assert
    expect(run.status).toBe(0)
    expect(run.stderr).toContain('auditing')
    expect(run.stdout).toContain(toHex(created.body.genesis).slice(0, 12))
  })
})
