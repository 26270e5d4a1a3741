/**
 * The site's model folder (`<stateDir>/<siteId>-models`) holds the model a
 * run works on and the delta it uploads. A run that crashed leaves them (and
 * cut-off `.part` files); the next run starts without a model, so it clears
 * them instead of letting each crash leave up to two models on disk.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { clearModelDir, modelDirOf, parseSiteConfig } from '../../../site-agent/index.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

describe('clearModelDir', () => {
  it('removes the model, delta and cut-off files an earlier run left, and nothing else', async () => {
    // Prepare
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-model-dir-'))
    dirs.push(stateDir)
    const config = parseSiteConfig({ siteId: 'st-marys', study: 's', coordinator: '127.0.0.1:50051', keyFile: 'k', data: { file: 'cohort.csv' }, stateDir }, 'site.json', stateDir)
    const dir = modelDirOf(config)
    await mkdir(dir, { recursive: true })
    const left = [`${'ab'.repeat(32)}.flw`, 'delta-round-3.flw', 'delta-round-4.flw.part', `${'cd'.repeat(32)}.flw.part`]
    for (const name of [...left, 'notes.txt']) await writeFile(path.join(dir, name), 'x')

    // Execute
    const removed = await clearModelDir(config)

    // Assert
    expect(removed.sort()).toEqual([...left].sort())
    expect(await readdir(dir)).toEqual(['notes.txt'])
  })
})
