#!/usr/bin/env node
/**
 * Builds the `fedlineage` program into dist/ so that the launcher
 * (bin/fedlineage.mjs) runs JavaScript instead of transpiling every source
 * on every run. `npm install` runs it (the `prepare` script), and so does
 * `npm run build`; the Dockerfiles run it after copying the sources.
 *
 * esbuild (already installed with tsx) bundles the sources from
 * bin/fedlineage.ts, leaving every package external, and splits the bundle
 * where the program imports a command lazily: `--help` loads one small
 * file, and a command loads its own chunks when it runs.
 *
 * Each build goes to its own folder, dist/<id>/, and dist/build.json (the
 * stamp: the entry and every source file's size and modification time) is
 * replaced last, by a rename: a process starting during a build runs the
 * previous build or the sources, never half of one. The previous build is
 * kept for processes that started from it and still import its chunks.
 *
 * A module's `import.meta.url` is its source file's URL in the build too,
 * so files it reads beside itself (protos/federation.proto, package.json)
 * are found where they are.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BUILD_STAMP } from './built-program.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ENTRY = 'bin/fedlineage.ts'
const DIST = path.join(ROOT, 'dist')

if (!existsSync(path.join(ROOT, ENTRY))) {
  // The Dockerfiles install dependencies before they copy the sources; they build afterwards.
  console.log(`fedlineage build: no ${ENTRY} here yet, nothing to build`)
  process.exit(0)
}

const { build } = await import('esbuild')
const started = performance.now()
const id = `${Date.now().toString(36)}-${process.pid}`
const outdir = path.join(DIST, id)
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: [ENTRY],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir,
  // Flat: every output file is one folder below dist/, which sourceUrls() relies on.
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  plugins: [sourceUrls(outdir)],
})

const inputs = {}
for (const file of Object.keys(result.metafile.inputs).sort()) {
  const s = await stat(path.join(ROOT, file))
  inputs[file] = { size: s.size, mtimeMs: s.mtimeMs }
}
const previous = await currentBuild()
const stampTmp = path.join(DIST, `build.json.${process.pid}.tmp`)
await writeFile(stampTmp, `${JSON.stringify({ entry: path.relative(ROOT, path.join(outdir, 'fedlineage.js')).split(path.sep).join('/'), inputs })}\n`)
await rename(stampTmp, path.join(ROOT, BUILD_STAMP))
await prune([id, previous])
console.log(`fedlineage build: ${Object.keys(inputs).length} sources into dist/${id} in ${Math.round(performance.now() - started)} ms`)

/** The id of the build the stamp names now, if any. */
async function currentBuild() {
  try {
    const stamp = JSON.parse(await readFile(path.join(ROOT, BUILD_STAMP), 'utf8'))
    return path.basename(path.dirname(stamp.entry))
  } catch {
    return undefined
  }
}

/** Removes every build folder but `keep`. */
async function prune(keep) {
  for (const e of await readdir(DIST, { withFileTypes: true })) if (e.isDirectory() && !keep.includes(e.name)) await rm(path.join(DIST, e.name), { recursive: true, force: true })
}

/**
 * An esbuild plugin that gives each of our modules its source file's URL as
 * `import.meta.url`: the output file's URL, resolved against the source's
 * path relative to the output folder.
 */
function sourceUrls(outdir) {
  return {
    name: 'source-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8')
        const other = /import\.meta\.(filename|dirname)/.exec(source)
        if (other !== null) return { errors: [{ text: `${path.relative(ROOT, args.path)}: use import.meta.url, not ${other[0]}: the build gives each module its source file's URL, and only that` }] }
        const relative = path.relative(outdir, args.path).split(path.sep).join('/')
        return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, import.meta.url).href`), loader: 'ts' }
      })
    },
  }
}
