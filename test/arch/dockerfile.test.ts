/**
 * The images cannot be built on these machines (no Docker engine), so every
 * Dockerfile in the repository is checked by reading it: it copies every
 * folder the program's entry point reaches through its imports, installs
 * from the lockfile, runs the entry point it copies as a user that is not
 * root, and gives that user a writable state folder declared as a volume,
 * apart from its read-only /config.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Repository files reachable from `entry` through relative imports (static and dynamic). */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>()
  const todo = [entry]
  while (todo.length > 0) {
    const file = todo.pop()!
    if (seen.has(file) || !existsSync(file)) continue
    seen.add(file)
    const src = readFileSync(file, 'utf8')
    for (const m of src.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) todo.push(path.resolve(path.dirname(file), m[1]!))
  }
  return seen
}

/** Every Dockerfile in the repository (outside node_modules, .git and a generated compose study). */
function dockerfiles(dir = ROOT): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    const rel = path.relative(ROOT, p).split(path.sep).join('/')
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== '.git' && rel !== 'deploy/study') out.push(...dockerfiles(p))
    } else if (/^Dockerfile(\.[\w-]+)?$|\.Dockerfile$/.test(e.name)) out.push(rel)
  }
  return out.sort()
}

/** What each image is for: its command, the state folder it writes, and the volumes it declares. */
const IMAGES: Record<string, { command: string; state: string; volumes: readonly string[] }> = {
  'coordinator/Dockerfile': { command: 'coordinator', state: '/var/lib/fedlineage', volumes: ['/config', '/var/lib/fedlineage'] },
  'site-agent/Dockerfile': { command: 'site', state: '/state', volumes: ['/config', '/keys', '/data', '/state'] },
}

describe('Dockerfiles', () => {
  const found = dockerfiles()
  const folders = new Set([...reachable(path.join(ROOT, 'bin/fedlineage.mjs')), ...reachable(path.join(ROOT, 'bin/fedlineage.ts'))].map((f) => path.relative(ROOT, f).split(path.sep)[0]!))
  folders.delete('node_modules')

  it('are the hub image and the site image, each known to this test', () => {
    expect(found).toEqual(Object.keys(IMAGES).sort())
  })

  describe.each(Object.entries(IMAGES))('%s', (file, image) => {
    const dockerfile = readFileSync(path.join(ROOT, file), 'utf8')
    const copied = new Set([...dockerfile.matchAll(/^COPY\s+(\S+)\s+\.\/\S*$/gm)].map((m) => m[1]!))
    const instruction = (name: string) => [...dockerfile.matchAll(new RegExp(`^${name}\\s+(.+)$`, 'gm'))].map((m) => m[1]!.trim())

    it('copies every folder the fedlineage program imports', () => {
      const missing = [...folders].filter((f) => !copied.has(f) && f.includes('.') === false)
      expect(missing).toEqual([])
      expect(folders.size).toBeGreaterThan(5)
    })

    it('runs the entry point it copies, and installs from the lockfile without dev dependencies', () => {
      expect(instruction('ENTRYPOINT')).toEqual(['["node", "bin/fedlineage.mjs"]'])
      expect(existsSync(path.join(ROOT, 'bin/fedlineage.mjs'))).toBe(true)
      expect(copied.has('bin')).toBe(true)
      expect(instruction('CMD')).toEqual([`["${image.command}", "--config", "/config/${image.command === 'site' ? 'site' : 'hub'}.json"]`])
      expect(dockerfile).toMatch(/COPY package\.json package-lock\.json/)
      expect(dockerfile).toMatch(/npm ci --omit=dev/)
    })

    it('builds the program once every folder it imports is copied, before it drops root', () => {
      const build = dockerfile.indexOf('\nRUN node bin/build.mjs\n')
      const lastCopy = Math.max(...[...folders].map((f) => dockerfile.indexOf(`\nCOPY ${f} ./`)))
      expect(build).toBeGreaterThan(lastCopy)
      expect(build).toBeLessThan(dockerfile.indexOf('\nUSER '))
      // Installing runs no `prepare` build: the sources are not there yet.
      expect(dockerfile).toMatch(/npm ci --omit=dev --ignore-scripts/)
    })

    it('runs as a user that is not root, who owns the state folder', () => {
      const users = instruction('USER')
      expect(users).toHaveLength(1)
      expect(users[0]).not.toMatch(/^(root|0)(:|$)/)
      // The last USER comes after every RUN: nothing runs as root once the user is set.
      expect(dockerfile.lastIndexOf('\nRUN ')).toBeLessThan(dockerfile.indexOf('\nUSER '))
      expect(dockerfile).toMatch(new RegExp(`^RUN mkdir -p ${image.state} && chown ${users[0]}:${users[0]} ${image.state}$`, 'm'))
    })

    it('declares its read-only config and its writable state as separate volumes', () => {
      const volumes = instruction('VOLUME').flatMap((v) => JSON.parse(v) as string[])
      expect(volumes).toEqual(image.volumes)
      expect(volumes).toContain('/config')
      expect(volumes).toContain(image.state)
    })
  })

  it("keeps a compose study (every party's keys) out of the build context", () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n')
    expect(ignored).toContain('deploy/study')
  })
})
