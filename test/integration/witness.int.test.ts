/**
 * The C2SP witness over real HTTP on loopback, its state in a temp folder:
 * the status codes of tlog-witness, persistence across a restart, and
 * rollback safety when the process is SIGKILLed between persisting a tree
 * and replying.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  NOTE_KEY_TYPE_COSIGNATURE_V1,
  RFC6962_SHA256,
  WITNESS_LOCK_FILE,
  WITNESS_STATE_FILE,
  checkpointVerifierKey,
  consistencyProof,
  cosignatureVerifierKey,
  formatAddCheckpointRequest,
  formatVerifierKey,
  logOrigin,
  parseVerifierKey,
  parseWitnessResponse,
  rootOf,
  signCheckpoint,
  startWitness,
  writeIdentity,
  type SignedCheckpoint,
} from '../../ledger/index.ts'
import { tempDir, testSigner } from '../helpers/federation.ts'

const BIN = fileURLToPath(new URL('../../bin/fedlineage.mjs', import.meta.url))
const coordinator = testSigner(1)
const witnessSigner = testSigner(40)
const origin = logOrigin('witness-study')
const logVkey = checkpointVerifierKey(origin, coordinator.publicKey)
const witnessKey = parseVerifierKey(cosignatureVerifierKey(witnessSigner.publicKey))
const leaves = Array.from({ length: 20 }, (_, i) => RFC6962_SHA256.hashLeaf(Uint8Array.of(i)))
const rootAt = (n: number) => rootOf(RFC6962_SHA256, leaves.slice(0, n))
const cpAt = (n: number, signer = coordinator): SignedCheckpoint => signCheckpoint(signer, { origin, size: n, root: rootAt(n) })
const body = (oldSize: number, size: number, checkpoint = cpAt(size)) =>
  formatAddCheckpointRequest({ oldSize, proof: oldSize === 0 || oldSize === size ? [] : consistencyProof(RFC6962_SHA256, leaves, oldSize, size), checkpoint })

async function post(url: string, text: string, method = 'POST'): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${url}/add-checkpoint`, method === 'POST' ? { method, body: text } : { method })
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() }
}

async function inProcessWitness(stateDir?: string) {
  const dir = stateDir ?? (await tempDir())
  const w = await startWitness({ signer: witnessSigner, logs: [parseVerifierKey(logVkey)], stateDir: dir, nowSeconds: () => 1_700_000_000 })
  onTestFinished(() => w.close())
  return { w, dir }
}

describe('witness add-checkpoint (c2sp.org/tlog-witness)', () => {
  it('cosigns a first checkpoint, then a consistent larger one, and persists each before replying', async () => {
    // Prepare
    const { w, dir } = await inProcessWitness()
    // Execute
    const first = await post(w.url, body(0, 5))
    const second = await post(w.url, body(5, 12))
    // Assert
    expect(first.status).toBe(200)
    expect(parseWitnessResponse(cpAt(5), first.text, witnessKey)[0]!.timestamp).toBe(1_700_000_000)
    expect(second.status).toBe(200)
    expect(parseWitnessResponse(cpAt(12), second.text, witnessKey)).toHaveLength(1)
    const state = JSON.parse(await readFile(path.join(dir, WITNESS_STATE_FILE), 'utf8'))
    expect(state.logs[origin]).toEqual({ size: 12, root: Buffer.from(rootAt(12)).toString('base64') })
  })

  it('answers each refusal with the status the spec names', async () => {
    // Prepare
    const { w } = await inProcessWitness()
    await post(w.url, body(0, 5))
    const otherLog = signCheckpoint(coordinator, { origin: logOrigin('elsewhere'), size: 1, root: rootAt(1) })
    const good = body(5, 12)
    const badProof = good.replace(/^old 5\n(.)/, (_m, c: string) => `old 5\n${c === 'A' ? 'B' : 'A'}`)
    // Execute
    const unknown = await post(w.url, formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint: otherLog }))
    const forged = await post(w.url, body(5, 12, cpAt(12, testSigner(99))))
    const malformed = await post(w.url, 'old 5\nnot base64\n\n')
    const oldAbove = await post(w.url, formatAddCheckpointRequest({ oldSize: 7, proof: [], checkpoint: cpAt(6) }))
    const stale = await post(w.url, body(0, 12))
    const inconsistent = await post(w.url, badProof)
    const get = await post(w.url, '', 'GET')
    // Assert
    expect(unknown.status).toBe(404)
    expect(forged.status).toBe(403)
    expect(malformed.status).toBe(400)
    expect(oldAbove.status).toBe(400)
    expect(stale).toEqual({ status: 409, type: 'text/x.tlog.size', text: '5\n' })
    expect(inconsistent.status).toBe(422)
    expect(get.status).toBe(405)
  })

  it('keeps its state across a restart: the old size it answers is the one it persisted', async () => {
    // Prepare
    const { w, dir } = await inProcessWitness()
    await post(w.url, body(0, 9))
    await w.close()
    // Execute
    const { w: again } = await inProcessWitness(dir)
    const res = await post(again.url, body(0, 12))
    // Assert
    expect(res).toEqual({ status: 409, type: 'text/x.tlog.size', text: '9\n' })
  })

  it('checks and persists atomically: of two concurrent submissions from one old size, only one is cosigned', async () => {
    // Prepare
    const { w } = await inProcessWitness()
    await post(w.url, body(0, 5))
    // Execute: both claim old size 5; whichever runs second must see the first's new size.
    const [to9, to12] = await Promise.all([post(w.url, body(5, 9)), post(w.url, body(5, 12))])
    // Assert
    expect([to9.status, to12.status].sort()).toEqual([200, 409])
    const winner = to9.status === 200 ? 9 : 12
    expect((to9.status === 409 ? to9 : to12).text).toBe(`${winner}\n`)
    expect(w.heldSize(origin)).toBe(winner)
  })

  it('refuses a state folder another live process holds, and takes over a lock its dead holder left', async () => {
    // Prepare: one lock held by a live process (our parent), one left by a process that has exited.
    const held = await tempDir()
    await writeFile(path.join(held, WITNESS_LOCK_FILE), `${process.ppid}\n`)
    const stale = await tempDir()
    const dead = spawn(process.execPath, ['-e', ''])
    await new Promise((r) => dead.once('exit', r))
    await writeFile(path.join(stale, WITNESS_LOCK_FILE), `${dead.pid}\n`)
    // Execute
    const refused = await startWitness({ signer: witnessSigner, logs: [parseVerifierKey(logVkey)], stateDir: held }).catch((err: Error) => err)
    const { w } = await inProcessWitness(stale)
    // Assert
    expect(refused).toMatchObject({ code: 'LEDGER_WITNESS_STATE_LOCKED' })
    expect((await post(w.url, body(0, 3))).status).toBe(200)
    expect(await readFile(path.join(stale, WITNESS_LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`)
  })

  it('names itself in its lines as --name says, with the key ID of that name', async () => {
    // Prepare
    const dir = await tempDir()
    const w = await startWitness({ signer: witnessSigner, name: 'witness.example/w1', logs: [parseVerifierKey(logVkey)], stateDir: dir })
    onTestFinished(() => w.close())
    // Execute
    const res = await post(w.url, body(0, 3))
    // Assert
    expect(w.verifierKey).toBe(formatVerifierKey('witness.example/w1', NOTE_KEY_TYPE_COSIGNATURE_V1, witnessSigner.publicKey))
    expect(res.text.startsWith('— witness.example/w1 ')).toBe(true)
    expect(parseWitnessResponse(cpAt(3), res.text, parseVerifierKey(w.verifierKey))).toHaveLength(1)
  })
})

/** Runs `fedlineage witness` in its own process; resolves with its URL once it listens. */
async function spawnWitness(dir: string, stateDir: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, [BIN, 'witness', '--key', path.join(dir, 'w.key'), '--log', logVkey, '--listen', '127.0.0.1:0', '--state', stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')))
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    let err = ''
    child.stderr!.on('data', (d: Buffer) => void (err += d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /witness listening on (\S+)\n/.exec(out)
      if (m) resolve(m[1]!)
    })
    void exited.then(() => reject(new Error(`witness exited before listening: ${err}`)))
  })
  return { child, url, exited }
}

describe('witness rollback safety', () => {
  it('SIGKILLed after persisting and before replying, it never cosigns a smaller or different tree afterwards', { timeout: 60_000 }, async () => {
    // Prepare: a witness at size 5, then one run that dies right after persisting size 12.
    const dir = await tempDir()
    await writeIdentity(dir, 'w', { seed: new Uint8Array(32).fill(40) })
    const stateDir = path.join(dir, 'state')
    const first = await spawnWitness(dir, stateDir)
    expect((await post(first.url, body(0, 5))).status).toBe(200)
    first.child.kill('SIGTERM')
    await first.exited
    const crashing = await spawnWitness(dir, stateDir, { FEDLINEAGE_WITNESS_KILL_AFTER_PERSIST: '1' })
    const lost = await post(crashing.url, body(5, 12)).catch((err: Error) => err)
    expect(await crashing.exited).toBe('SIGKILL')
    expect(lost).toBeInstanceOf(Error) // no reply, so no cosignature of 12 ever left
    // Execute
    const restarted = await spawnWitness(dir, stateDir)
    const fromFive = await post(restarted.url, body(5, 9))
    const smaller = await post(restarted.url, formatAddCheckpointRequest({ oldSize: 12, proof: [], checkpoint: cpAt(9) }))
    const forkedTwelve = await post(restarted.url, formatAddCheckpointRequest({ oldSize: 12, proof: [], checkpoint: signCheckpoint(coordinator, { origin, size: 12, root: rootAt(11) }) }))
    const forkedFromFive = await post(restarted.url, body(5, 12))
    const resent = await post(restarted.url, body(12, 12))
    const onward = await post(restarted.url, body(12, 20))
    // Assert: the persisted 12 holds; only 12 itself and its extensions are cosigned.
    expect(fromFive).toEqual({ status: 409, type: 'text/x.tlog.size', text: '12\n' })
    expect(smaller.status).toBe(400)
    expect(forkedTwelve).toEqual({ status: 409, type: 'text/x.tlog.size', text: '12\n' })
    expect(forkedFromFive.status).toBe(409)
    expect(resent.status).toBe(200)
    expect(parseWitnessResponse(cpAt(12), resent.text, witnessKey)).toHaveLength(1)
    expect(onward.status).toBe(200)
  })
})
