/**
 * `fedlineage site check`: what a site will train on, with no network and
 * before anything trains, from its real config and records; bad records
 * are errors with their row, doubtful ones warnings.
 */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { runCommand, type CliIo } from '../../cli/index.ts'
import { registerSiteAgentCommands } from '../../site-agent/index.ts'
import { createFederation } from '../helpers/federation.ts'

async function fedlineage(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const out = new PassThrough().on('data', (c: Buffer) => (stdout += c.toString()))
  const err = new PassThrough().on('data', (c: Buffer) => (stderr += c.toString()))
  const io: CliIo = { stdout: out, stderr: err, setExitCode: () => undefined }
  const program = new Command()
    .name('fedlineage')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) })
  registerSiteAgentCommands(program, io)
  const status = await runCommand(() => program.parseAsync(args, { from: 'user' }), { io })
  return { status, stdout, stderr }
}

describe('fedlineage site check', () => {
  it('prints rows, drops, label balance and every column, and sends nothing', async () => {
    // Prepare: a site's config, and the study spec as the hub config carries it. The coordinator is stopped: no network is needed.
    const fed = await createFederation({ siteCount: 1, study: { minSites: 1 } })
    await fed.coordinator.close()
    const config = await fed.writeSiteConfig(fed.sites[0]!)
    const spec = path.join(fed.dir, 'hub-copy.json')
    await writeFile(spec, JSON.stringify({ study: fed.config.study }))

    // Execute
    const run = await fedlineage(['site', 'check', '--config', config, '--study', spec])

    // Assert
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const rows = (await readFile(fed.sites[0]!.csv, 'utf8')).trimEnd().split('\n').length - 1
    expect(run.stdout).toMatch(new RegExp(`^site ${fed.sites[0]!.id}, study test-study: spec [0-9a-f]{16}… \\(no approval file in the site config\\)$`, 'm'))
    expect(run.stdout).toContain(`records read: ${rows}`)
    expect(run.stdout).toMatch(/^used: \d+ train, \d+ validation; dropped 0$/m)
    expect(run.stdout).toMatch(/^label "outcome" \(positive: yes\): train \d+ positive of \d+ \([0-9.]+%\), validation \d+ of \d+/m)
    expect(run.stdout).toMatch(/^cholesterol +numeric +\d+ \([0-9.]+%\) +\d+ – \d+, mean [0-9.]+$/m)
    expect(run.stdout).toMatch(/^chest_pain +categorical +0 \(0\.0%\) +typical \d+, atypical \d+, non-anginal \d+, asymptomatic \d+$/m)
    expect(run.stdout).toMatch(/^ready: the agent will train on \d+ records and evaluate on \d+; this check sent nothing anywhere$/m)
  })

  it('warns of a tiny cohort and unknown categories, and refuses a label outside the schema', async () => {
    // Prepare: the site's file cut to 6 rows, one with a chest pain type the schema lacks, one with a label typo.
    const fed = await createFederation({ siteCount: 1, study: { minSites: 1 } })
    await fed.coordinator.close()
    const site = fed.sites[0]!
    const config = await fed.writeSiteConfig(site)
    const [header, ...rows] = (await readFile(site.csv, 'utf8')).trimEnd().split('\n')
    const cols = header!.split(',')
    const cp = cols.indexOf('chest_pain')
    const y = cols.indexOf('outcome')
    const tiny = rows.slice(0, 6).map((r, i) => {
      const cells = r.split(',')
      if (i === 0) cells[cp] = 'silent'
      if (i === 1) cells[y] = 'Yes'
      return cells.join(',')
    })
    await writeFile(site.csv, [header, ...tiny].join('\n') + '\n')
    const spec = path.join(fed.dir, 'spec.json')
    await writeFile(spec, JSON.stringify(fed.config.study))
    const strict = path.join(fed.dir, 'strict.json')
    await writeFile(strict, JSON.stringify({ ...fed.config.study, data: { ...fed.config.study.data, label: { column: 'outcome', positive: ['yes'], negative: ['no'] } } }))

    // Execute
    const lax = await fedlineage(['site', 'check', '--config', config, '--study', spec])
    const refused = await fedlineage(['site', 'check', '--config', config, '--study', strict])

    // Assert
    expect(lax.status).toBe(0)
    expect(lax.stdout).toMatch(/not categories: "silent" 1/)
    expect(lax.stdout).toMatch(/^ {2}- feature "chest_pain": 1 rows dropped for values that are not among its categories/m)
    expect(lax.stdout).toMatch(/^ {2}- only \d training rows after preparation/m)
    expect(lax.stdout).toMatch(/^ready, with \d warning\(s\)/m)
    expect(refused.status).not.toBe(0)
    expect(refused.stderr).toMatch(/^SITE_DATA_\w+: .* line 3 \(data row 2\), column "outcome": label "Yes" is neither positive \(yes\) nor negative \(no\)/m)
  })
})
