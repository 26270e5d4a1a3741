/**
 * The read tools on a live log: `log verify`, `log prove`, `rewards` and
 * `audit --db` on the data dir of a coordinator that is still running (and
 * holds its LevelDB) succeed, say that they read a snapshot, and print what
 * they print once it has stopped.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { runTool, type ToolRun } from '../helpers/cli.ts'
import { createFederation } from '../helpers/federation.ts'

describe('read tools while the coordinator runs', () => {
  it('log verify, log prove, rewards and audit --db succeed on its held store and agree with their runs after it stops', async () => {
    // Prepare: a finished study whose coordinator keeps running (serving downloads and status) and holds its store.
    const fed = await createFederation({ siteCount: 2, study: { rounds: 2, rewards: { poolPerRound: '1000' } } })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    const db = fed.config.dataDir
    const report = (when: string) => path.join(fed.dir, `audit-${when}.json`)
    const tools = (when: string) => [
      ['log', 'verify', '--db', db],
      ['log', 'prove', '--db', db, '--seq', '3'],
      ['rewards', '--db', db],
      ['audit', '--db', db, '--report', report(when)],
    ]
    const runAll = async (when: string) => {
      const runs: ToolRun[] = []
      for (const args of tools(when)) runs.push(await runTool(args))
      return runs
    }

    // Execute
    const live = await runAll('live')
    const entriesLive = fed.coordinator.ledger.length
    await fed.coordinator.close()
    const stopped = await runAll('stopped')

    // Assert: every tool succeeds on the held store, saying it read a snapshot, and says what it says once the store is free.
    for (const [i, run] of live.entries()) {
      expect(run, tools('live')[i]!.join(' ')).toMatchObject({ status: 0 })
      expect(run.stderr).toMatch(new RegExp(`^${db} is in use by another process .*: reading a consistent snapshot of it`))
      expect(stopped[i]).toMatchObject({ status: 0, stderr: '' })
    }
    const [verify, prove, rewards, audit] = live
    expect(verify!.stdout).toBe(stopped[0]!.stdout)
    expect(verify!.stdout).toMatch(new RegExp(`^log verified: ${entriesLive} entries, head [0-9a-f]{64}\\n`))
    expect(prove!.stdout).toBe(stopped[1]!.stdout)
    expect(rewards!.stdout).toBe(stopped[2]!.stdout)
    expect(rewards!.stdout).toMatch(/^study test-study: 2 rewarded rounds\n/)
    const verdict = (run: ToolRun) => run.stdout.trimEnd().split('\n').at(-1)
    expect(verdict(audit!)).toBe(verdict(stopped[3]!))
    expect(verdict(audit!)).toMatch(new RegExp(`^audit passed: 2 rounds re-derived, 2 rewards recomputed, ${entriesLive} entries, checkpoint ${entriesLive} `))
    expect(JSON.parse(await readFile(report('live'), 'utf8'))).toEqual(JSON.parse(await readFile(report('stopped'), 'utf8')))
  })
})
