/**
 * Site-level DP through the real coordinator (3 sites, real gRPC, LevelDB and
 * TF.js): a budget that pays for two rounds of three stops the study after
 * two, each round's seed is kept in <dataDir>/dp-seeds.json (mode 0600) and
 * only its hash in the log, the audit given the seeds re-derives every model
 * bit for bit, and the audit without them checks the rest and is partial.
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sha256, toHex } from '../../ledger/index.ts'
import { epsilonOf } from '../../models/core/index.ts'
import { ENTRY_KINDS, parseNoiseSeeds, readLineageRecord, type LineageRecord } from '../../protocol/index.ts'
import { auditDir, readBlob, readStoredLog } from '../helpers/audit.ts'
import { captureIo, cli } from '../helpers/consent.ts'
import { createFederation } from '../helpers/federation.ts'

describe('a DP study through the coordinator', () => {
  it('stops at its ε budget, keeps the seeds private, and audits bit for bit with them', { timeout: 180_000 }, async () => {
    // Prepare: σ 1 over every site (q 1), δ 1e-5; the budget lies between ε after 2 rounds and after 3.
    const budget = (epsilonOf(1, 1, 2, 1e-5).epsilon + epsilonOf(1, 1, 3, 1e-5).epsilon) / 2
    const fed = await createFederation({ siteCount: 3, study: { rounds: 3, minSites: 3, dp: { clipNorm: 0.5, noiseMultiplier: 1, delta: 1e-5, epsilon: budget } } })

    // Execute
    const summaries = await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    await fed.coordinator.close()
    const dir = fed.config.dataDir
    const records: LineageRecord[] = (await readStoredLog(dir)).map((e) => readLineageRecord(e.entry))
    const seedsFile = path.join(dir, 'dp-seeds.json')
    const seeds = parseNoiseSeeds(await readFile(seedsFile, 'utf8'), seedsFile)
    const withSeeds = await auditDir(dir, { noiseSeeds: seeds })
    const without = await auditDir(dir)

    // Assert: two rounds committed, each with its accounting; the study completed there.
    expect(summaries.map((s) => s.rounds)).toEqual([2, 2, 2])
    const commits = records.filter((r): r is Extract<LineageRecord, { kind: 'round-committed' }> => r.kind === ENTRY_KINDS.ROUND_COMMITTED)
    expect(commits.map((c) => [c.body.dp?.steps, c.body.dp?.epsilon])).toEqual([
      [1, epsilonOf(1, 1, 1, 1e-5).epsilon],
      [2, epsilonOf(1, 1, 2, 1e-5).epsilon],
    ])
    expect(records.at(-1)?.kind).toBe(ENTRY_KINDS.STUDY_COMPLETED)

    // Assert: the log holds each seed's hash only; the seeds file holds the seeds, readable by its owner only.
    const opened = records.filter((r): r is Extract<LineageRecord, { kind: 'round-opened' }> => r.kind === ENTRY_KINDS.ROUND_OPENED)
    expect(opened.map((r) => toHex(r.body.dp!.seed!)).sort()).toEqual([...seeds.keys()].sort())
    const logBytes = (await readStoredLog(dir)).map((e) => toHex(e.bytes)).join('')
    for (const seed of seeds.values()) {
      expect(logBytes).not.toContain(toHex(seed))
      // Nor is a seed a blob that replication would serve.
      await expect(readBlob(dir, sha256(seed))).rejects.toThrow()
    }
    expect((await stat(seedsFile)).mode & 0o777).toBe(0o600)

    // Assert: with the seeds every model re-derives; without, the verdict is partial and names both rounds.
    expect(withSeeds.error).toBeUndefined()
    expect(withSeeds.report.verdict).toBe('passed')
    expect(withSeeds.report.rounds.map((r) => r.rederived)).toEqual([true, true])
    expect(without.error).toBeUndefined()
    expect(without.report.verdict).toBe('partial')
    expect(without.report.unchecked).toHaveLength(2)

    // Assert: the CLI the same way: `--dp-seeds` passes, without it exit 3 (AUDIT_PARTIAL), a bad seeds file is refused by name.
    const io = captureIo()
    expect(await cli(io, 'audit', '--db', dir, '--dp-seeds', seedsFile)).toMatch(/passed/)
    await expect(cli(io, 'audit', '--db', dir)).rejects.toMatchObject({ code: 'AUDIT_PARTIAL' })
    const bad = path.join(fed.dir, 'bad-seeds.json')
    await writeFile(bad, '{"seeds": ["zz"]}')
    await expect(cli(io, 'audit', '--db', dir, '--dp-seeds', bad)).rejects.toMatchObject({
      code: 'AUDIT_INVALID_ARGUMENT',
      message: expect.stringContaining('seeds[0] is not 64 lowercase hex digits'),
    })
  })
})
