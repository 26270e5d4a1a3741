/**
 * The launcher (bin/fedlineage.mjs) runs the build in dist/ only while it is
 * a build of the sources as they are, and the sources otherwise; the build
 * (bin/build.mjs) replaces its stamp last and keeps the previous build. Run
 * on a copy of the launcher and the build script in a temp package whose
 * program prints where it runs from and a file it reads beside its source.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ROOT, runRecorded } from '../helpers/cli-process.ts'

const run = promisify(execFile)

/** The temp package: the real launcher and build script, a two-file program, and the repository's node_modules. */
async function fixturePackage(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-launcher-'))
  await mkdir(path.join(dir, 'bin'))
  for (const f of ['fedlineage.mjs', 'build.mjs', 'built-program.mjs']) await copyFile(path.join(ROOT, 'bin', f), path.join(dir, 'bin', f))
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n')
  await writeFile(path.join(dir, 'bin', 'greeting.txt'), 'hello from beside the source\n')
  await writeFile(
    path.join(dir, 'bin', 'greeting.ts'),
    "import { readFileSync } from 'node:fs'\nexport const greeting: string = readFileSync(new URL('./greeting.txt', import.meta.url), 'utf8').trim()\n",
  )
  await writeFile(path.join(dir, 'bin', 'fedlineage.ts'), "import { greeting } from './greeting.ts'\nprocess.stdout.write(greeting + '\\n')\n")
  return dir
}

/** Where the launcher ran the program from: the build or the sources, by the modules it loaded. */
async function launch(dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ from: 'build' | 'source'; stdout: string }> {
  const r = await runRecorded([], { script: path.join(dir, 'bin/fedlineage.mjs'), cwd: dir, env })
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  const from = r.modules.some((m) => m.includes('/dist/') && m.endsWith('/fedlineage.js')) ? 'build' : 'source'
  if (from === 'build') expect(r.modules.some((m) => m.includes('/node_modules/tsx/'))).toBe(false)
  return { from, stdout: r.stdout }
}

const build = (dir: string) => run(process.execPath, [path.join(dir, 'bin/build.mjs')], { cwd: dir })

describe('the fedlineage launcher', () => {
  let dir: string
  beforeEach(async () => {
    dir = await fixturePackage()
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('runs the sources when there is no build', async () => {
    expect(await launch(dir)).toEqual({ from: 'source', stdout: 'hello from beside the source\n' })
  })

  it('runs the build when it is of the sources as they are, with import.meta.url still the source file', async () => {
    // Prepare
    await build(dir)
    // Execute
    const launched = await launch(dir)
    // Assert
    expect(launched).toEqual({ from: 'build', stdout: 'hello from beside the source\n' })
  })

  it('runs the sources once one is edited after the build, and the build again once rebuilt', async () => {
    // Prepare
    await build(dir)
    await writeFile(path.join(dir, 'bin', 'greeting.ts'), "export const greeting: string = 'edited'\n")
    // Execute
    const edited = await launch(dir)
    await build(dir)
    const rebuilt = await launch(dir)
    // Assert
    expect(edited).toEqual({ from: 'source', stdout: 'edited\n' })
    expect(rebuilt).toEqual({ from: 'build', stdout: 'edited\n' })
  })

  it('runs the sources when a source only changed its time (a checkout)', async () => {
    // Prepare
    await build(dir)
    const past = new Date(Date.now() - 86_400_000)
    // Execute
    await utimes(path.join(dir, 'bin', 'fedlineage.ts'), past, past)
    // Assert
    expect((await launch(dir)).from).toBe('source')
  })

  it('runs the sources when a source the build holds is gone, so their error shows, not the stale build', async () => {
    // Prepare
    await build(dir)
    // Execute
    await rm(path.join(dir, 'bin', 'greeting.ts'))
    const r = await runRecorded([], { script: path.join(dir, 'bin/fedlineage.mjs'), cwd: dir })
    // Assert
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/greeting\.ts/)
    expect(r.stdout).toBe('')
  })

  it('runs the sources with FEDLINEAGE_FROM_SOURCE=1, even beside a fresh build', async () => {
    await build(dir)
    expect((await launch(dir, { FEDLINEAGE_FROM_SOURCE: '1' })).from).toBe('source')
  })

  it('keeps the newest two builds, and names the newest in its stamp', async () => {
    // Execute
    for (let i = 0; i < 3; i++) await build(dir)
    // Assert
    const builds = (await readdir(path.join(dir, 'dist'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
    const stamp = JSON.parse(await readFile(path.join(dir, 'dist', 'build.json'), 'utf8')) as { entry: string; inputs: Record<string, unknown> }
    expect(builds).toHaveLength(2)
    expect(builds).toContain(path.basename(path.dirname(stamp.entry)))
    expect(Object.keys(stamp.inputs).sort()).toEqual(['bin/fedlineage.ts', 'bin/greeting.ts'])
  })

  it('skips the build, and succeeds, where the sources are not copied yet (the Dockerfiles install first)', async () => {
    await rm(path.join(dir, 'bin', 'fedlineage.ts'))
    const { stdout } = await build(dir)
    expect(stdout).toMatch(/nothing to build/)
  })
})
