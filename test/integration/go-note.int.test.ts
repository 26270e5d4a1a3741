/**
 * Our checkpoints, checked by code nobody here wrote: Go's
 * golang.org/x/mod/sumdb/note opens the note under the log's verifier key
 * (the witness's cosignature/v1 line is a key it does not know: ignored), and
 * golang.org/x/mod/sumdb/tlog recomputes the root from the entries and checks
 * every entry's inclusion (test/fixtures/go/checknote.go).
 *
 * Needs `go` and Debian's golang-golang-x-mod-dev (.ci/run installs them when
 * apt-get is there); skips, saying which is missing, otherwise.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { checkpointVerifierKey, cosignCheckpoint, logOrigin, toHex } from '../../ledger/index.ts'
import { createLedger, createTempDir, testDrafts, testSigner } from '../helpers/ledger.ts'

const GOPATH = '/usr/share/gocode'
const CHECKNOTE = fileURLToPath(new URL('../fixtures/go/checknote.go', import.meta.url))
const goVersion = spawnSync('go', ['version'], { encoding: 'utf8' })
const missing =
  goVersion.error !== undefined || goVersion.status !== 0
    ? '`go` is not installed (apt-get install golang-go golang-golang-x-mod-dev)'
    : !existsSync(path.join(GOPATH, 'src/golang.org/x/mod/sumdb/note'))
      ? `golang.org/x/mod is not in ${GOPATH} (apt-get install golang-golang-x-mod-dev)`
      : undefined
if (missing !== undefined) console.warn(`go-note.int.test.ts skipped: ${missing}`)

function checknote(...args: string[]) {
  return spawnSync('go', ['run', CHECKNOTE, ...args], {
    encoding: 'utf8',
    timeout: 180_000,
    // GOPATH mode: the packages come from the Debian package, nothing is fetched.
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOPROXY: 'off', GOCACHE: path.join(os.tmpdir(), 'fedlineage-go-cache') },
  })
}

describe.skipIf(missing !== undefined)('checkpoints checked with Go x/mod sumdb/note and sumdb/tlog', () => {
  it('verifies our cosigned checkpoint note and the root of our entries, and refuses a changed note', { timeout: 240_000 }, async () => {
    // Prepare
    const f = await createLedger()
    const origin = logOrigin('go-check')
    await f.ledger.append(f.signer, testDrafts(20))
    const signed = await f.ledger.checkpoint(f.signer, origin)
    await f.ledger.addCosignature(20, cosignCheckpoint(testSigner(3), signed, 1_700_000_000))
    const note = (await f.ledger.cosignedCheckpointAt(20))!.note
    const entries: string[] = []
    for await (const { bytes } of f.ledger.scan()) entries.push(toHex(bytes))
    const dir = await createTempDir()
    const files = { note: path.join(dir, 'checkpoint'), forged: path.join(dir, 'forged'), entries: path.join(dir, 'entries.hex') }
    await writeFile(files.note, note)
    await writeFile(files.forged, note.replace('\n20\n', '\n19\n'))
    await writeFile(files.entries, `${entries.join('\n')}\n`)
    const vkey = checkpointVerifierKey(origin, f.signer.publicKey)

    // Execute
    const ok = checknote(vkey, files.note, files.entries)
    const forged = checknote(vkey, files.forged, files.entries)

    // Assert
    expect(ok.stderr).toBe('')
    expect(ok.stdout).toMatch(new RegExp(`^ok origin=${origin} size=20 root=\\S+ signatures=1 unverified=1\\n$`))
    expect(forged.status).toBe(1)
    expect(forged.stderr).toContain('note.Open')
  })
})
