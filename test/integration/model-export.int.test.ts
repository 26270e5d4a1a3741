/**
 * `fedlineage model export` and `fedlineage predict` on a real federation
 * (gRPC, LevelDB, TF.js): the export is checked against the log, loads with
 * TF.js, and re-scores every site's validation split exactly as the site
 * reported it; a changed file, a wrong key, a busy output directory and an
 * uncommitted round are refused with their codes.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { Command } from 'commander'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCommand, type CliIo } from '../../cli/index.ts'
import { registerLedgerCommands, toHex } from '../../ledger/index.ts'
import { registerSiteAgentCommands } from '../../site-agent/index.ts'
import { createFederation, testSigner, type TestFederation } from '../helpers/federation.ts'
import { createTempDir } from '../helpers/ledger.ts'

interface Run {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

async function fedlineage(args: readonly string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const out = new PassThrough().on('data', (c: Buffer) => (stdout += c.toString()))
  const err = new PassThrough().on('data', (c: Buffer) => (stderr += c.toString()))
  const io: CliIo = { stdout: out, stderr: err, setExitCode: () => undefined }
  const program = new Command()
    .name('fedlineage')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) })
  registerSiteAgentCommands(program, io)
  registerLedgerCommands(program, io)
  const status = await runCommand(() => program.parseAsync(args, { from: 'user' }), { io })
  return { status, stdout, stderr }
}

let fed: TestFederation
let db: string
let exported: string
const configs: string[] = []

describe('model export and predict', () => {
  let root = ''
  afterAll(async () => {
    await fed?.coordinator.close()
    await rm(root, { recursive: true, force: true })
  })
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-export-'))
    fed = await createFederation({ dir: root, siteCount: 3, study: { model: { kind: 'mlp', hidden: [8], activation: 'relu' }, rounds: 2 } })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    await fed.coordinator.close()
    db = fed.config.dataDir
    for (const s of fed.sites) configs.push(await fed.writeSiteConfig(s))
    exported = path.join(root, 'model')
  }, 120_000)

  it('exports the final model, checked against the log, in TF.js layers format with its card and proof', async () => {
    // Execute
    const run = await fedlineage(['model', 'export', '--db', db, '--out', exported, '--coordinator-key', toHex(testSigner(1).publicKey)])

    // Assert
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/^exported round 2 \(final\) of study test-study to /)
    const card = JSON.parse(await readFile(path.join(exported, 'model-card.json'), 'utf8'))
    expect(card).toMatchObject({ format: 'fedlineage/model-card/v1', model: { round: 2, final: true, parameters: 12 * 8 + 8 + 8 + 1 }, strategy: { name: 'fedavg' } })
    expect(card.lineage.map((r: { round: number }) => r.round)).toEqual([1, 2])
    expect(card.evaluation.perSite.map((e: { site: string }) => e.site)).toEqual(fed.sites.map((s) => s.id).sort())
    const modelJson = JSON.parse(await readFile(path.join(exported, 'model.json'), 'utf8'))
    expect(modelJson).toMatchObject({ format: 'layers-model', weightsManifest: [{ paths: ['weights.bin'] }] })
    expect(await readFile(path.join(exported, 'model-card.md'), 'utf8')).toContain('## Evaluation at each site')
    // The proof it ships checks offline under the coordinator's key.
    const check = await fedlineage(['log', 'check-proof', '--proof', path.join(exported, 'commit-proof.json'), '--coordinator-key', toHex(testSigner(1).publicKey)])
    expect(check.status).toBe(0)
  })

  it("re-scores each site's validation split exactly as the site reported it", async () => {
    for (const config of configs) {
      // Execute
      const run = await fedlineage(['predict', '--model', exported, '--site-config', config])

      // Assert
      expect(run.stderr).toMatch(/weights match the commit/)
      expect(run.status).toBe(0)
      expect(run.stdout).toMatch(/^reproduced: the exported model scores site [a-z-]+'s validation split as the site reported$/m)
    }
  })

  it('scores a CSV with the site preprocessing, with or without its label column', async () => {
    // Prepare: the site's own records, then the same without the label column.
    const site = fed.sites[0]!
    const text = await readFile(site.csv, 'utf8')
    const lines = text.trimEnd().split('\n')
    const header = lines[0]!.split(',')
    const labelAt = header.indexOf('outcome')
    const unlabeled = path.join(await createTempDir(), 'unlabeled.csv')
    await writeFile(
      unlabeled,
      lines
        .map((l) =>
          l
            .split(',')
            .filter((_, i) => i !== labelAt)
            .join(','),
        )
        .join('\n') + '\n',
    )
    const out = path.join(await createTempDir(), 'scores.csv')

    // Execute
    const labelled = await fedlineage(['predict', '--model', exported, '--site-config', configs[0]!, '--data', site.csv, '--out', out])
    const bare = await fedlineage(['predict', '--model', exported, '--site-config', configs[0]!, '--data', unlabeled])

    // Assert
    expect(labelled.status).toBe(0)
    expect(labelled.stderr).toMatch(new RegExp(`scored ${lines.length - 1} of ${lines.length - 1} rows`))
    expect(labelled.stderr).toMatch(/on the \d+ labelled rows: loss [0-9.]+, accuracy [0-9.]+, AUC [0-9.]+/)
    const scores = (await readFile(out, 'utf8')).trimEnd().split('\n')
    expect(scores[0]).toBe('row,probability,label')
    expect(scores).toHaveLength(lines.length)
    expect(bare.status).toBe(0)
    expect(bare.stderr).not.toMatch(/labelled rows/)
    // Same rows, same probabilities: the label column plays no part in scoring.
    expect(
      bare.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(',')[1]),
    ).toEqual(scores.map((l) => l.split(',')[1]))
  })

  it('refuses a model whose weights were changed after export', async () => {
    // Prepare: a copy of the export with one weight byte flipped.
    const copy = path.join(await createTempDir(), 'model')
    await fedlineage(['model', 'export', '--db', db, '--out', copy])
    const weights = await readFile(path.join(copy, 'weights.bin'))
    weights[5] = weights[5]! ^ 0x01
    await writeFile(path.join(copy, 'weights.bin'), weights)

    // Execute
    const run = await fedlineage(['predict', '--model', copy, '--site-config', configs[0]!])

    // Assert
    expect(run.status).not.toBe(0)
    expect(run.stderr).toMatch(/^SITE_EXPORT_DAMAGED: .*the weights hash to [0-9a-f]{64}, but the card names model/m)
  })

  it('exports while the coordinator holds its store, from a snapshot', async () => {
    // Prepare: the coordinator running again on the finished study's store.
    await fed.restartCoordinator()
    const live = path.join(await createTempDir(), 'model')
    try {
      // Execute
      const run = await fedlineage(['model', 'export', '--db', db, '--out', live])

      // Assert: the same model, read from a snapshot the tool says it used.
      expect(run.status).toBe(0)
      expect(run.stderr).toMatch(/is in use by another process .*: reading a consistent snapshot of it/)
      const card = JSON.parse(await readFile(path.join(live, 'model-card.json'), 'utf8'))
      expect(card.model.sha256).toBe(JSON.parse(await readFile(path.join(exported, 'model-card.json'), 'utf8')).model.sha256)
    } finally {
      await fed.coordinator.close()
    }
  })

  it('refuses a wrong coordinator key, a non-empty output directory and an uncommitted round', async () => {
    const fresh = path.join(await createTempDir(), 'model')
    const wrongKey = await fedlineage(['model', 'export', '--db', db, '--out', fresh, '--coordinator-key', toHex(testSigner(9).publicKey)])
    expect(wrongKey.status).not.toBe(0)
    expect(wrongKey.stderr).toMatch(/^LEDGER_/m)

    const busy = await fedlineage(['model', 'export', '--db', db, '--out', exported])
    expect(busy.stderr).toMatch(/^SITE_EXPORT_REFUSED: --out .*: the directory is not empty/m)

    const round = await fedlineage(['model', 'export', '--db', db, '--out', fresh, '--round', '7'])
    expect(round.stderr).toMatch(/^SITE_EXPORT_REFUSED: --round 7: that round was never opened; committed rounds are 1–2/m)
  })
})
