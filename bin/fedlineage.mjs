#!/usr/bin/env node
// The `fedlineage` executable. It runs the program built into dist/ (by
// `npm install`'s prepare script, `npm run build`, or the Dockerfiles) when
// that build is of the sources as they are now; otherwise, after an edit or a
// checkout, with no build, or with FEDLINEAGE_FROM_SOURCE=1, it runs the
// TypeScript sources through tsx, so nobody ever runs stale code.
import { fileURLToPath } from 'node:url'
import { freshBuild } from './built-program.mjs'

const built = process.env.FEDLINEAGE_FROM_SOURCE === '1' ? undefined : freshBuild(fileURLToPath(new URL('..', import.meta.url)))
if (built !== undefined) {
  await import(built)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('./fedlineage.ts')
}
