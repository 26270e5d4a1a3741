/**
 * The site agent's image cannot be built on these machines (no Docker
 * engine), so its Dockerfile is checked by reading it: it copies every
 * folder the program's entry point reaches through its imports, and the
 * entry point it runs exists.
 */
import { existsSync, readFileSync } from 'node:fs'
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

describe('site-agent/Dockerfile', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'site-agent/Dockerfile'), 'utf8')
  const copied = new Set([...dockerfile.matchAll(/^COPY\s+(\S+)\s+\.\/\S*$/gm)].map((m) => m[1]!))

  it('copies every folder the fedlineage program imports', () => {
    const folders = new Set([...reachable(path.join(ROOT, 'bin/fedlineage.mjs')), ...reachable(path.join(ROOT, 'bin/fedlineage.ts'))].map((f) => path.relative(ROOT, f).split(path.sep)[0]!))
    folders.delete('node_modules')
    const missing = [...folders].filter((f) => !copied.has(f) && f.includes('.') === false)
    expect(missing).toEqual([])
    expect(folders.size).toBeGreaterThan(5)
  })

  it('runs the entry point it copies, and installs from the lockfile without dev dependencies', () => {
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/fedlineage\.mjs", "site"\]/)
    expect(copied.has('bin')).toBe(true)
    expect(dockerfile).toMatch(/COPY package\.json package-lock\.json/)
    expect(dockerfile).toMatch(/npm ci --omit=dev/)
  })
})
