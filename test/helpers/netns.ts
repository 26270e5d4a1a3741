/**
 * Two Linux network namespaces joined by a veth pair with private addresses,
 * for tests of what crosses a real network interface: each namespace has
 * only its loopback and its end of the pair, so the only way between them is
 * the /30 link. Needs root and `ip netns`; `netnsSkipReason()` says why a test
 * cannot run here, and `createNetnsPair` registers nothing: the caller must
 * `remove()` (idempotent), in `afterAll`. `fedlineageIn` runs the CLI inside
 * a namespace, optionally with folders read-only as a container's volumes are.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { openLevelStorage, verifyLog } from '../../ledger/index.ts'

const BIN = fileURLToPath(new URL('../../bin/fedlineage.mjs', import.meta.url))

function ip(args: readonly string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() }
}

function must(args: readonly string[]): string {
  const r = ip(args)
  if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.out}`)
  return r.out
}

/**
 * Why two namespaces cannot be made here (not Linux, not root, no `ip`, no
 * permission to add one), or undefined when they can: a throwaway namespace
 * is added and deleted to find out.
 */
export function netnsSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces are Linux-only (this is ${process.platform})`
  if (process.getuid?.() !== 0) return `needs root to create network namespaces (running as uid ${process.getuid?.()})`
  const list = ip(['netns', 'list'])
  if (!list.ok) return `\`ip netns\` is unavailable: ${list.out || 'iproute2 not installed?'}`
  const probe = `fl-probe-${randomBytes(4).toString('hex')}`
  const added = ip(['netns', 'add', probe])
  if (!added.ok) return `\`ip netns add\` failed: ${added.out}`
  ip(['netns', 'del', probe])
  return undefined
}

export interface NetnsPair {
  /** The namespaces' names, for `ip netns exec NAME …`. */
  readonly a: string
  readonly b: string
  /** The addresses on each end of the veth pair (a /30). */
  readonly aIp: string
  readonly bIp: string
  /** Bytes `a`'s end of the link has received and sent so far. */
  linkBytes(): { rx: number; tx: number }
  /** Deletes both namespaces (the veth pair goes with them); safe to call twice. */
  remove(): void
}

export interface NetnsPairInit {
  /**
   * Host names that resolve to a's address inside b (as a compose service
   * name does): written to `/etc/netns/<b>/hosts`, which `ip netns exec`
   * mounts over /etc/hosts, and removed with the pair.
   */
  readonly namesOfA?: readonly string[]
}

/**
 * Creates namespaces `fl-<id>-a` and `fl-<id>-b`, a veth pair between them,
 * and a random /30 in 10.231.0.0/16 (`.1` in a, `.2` in b), all links up.
 * Names are unique per call, so parallel runs never share a namespace.
 */
export function createNetnsPair(init: NetnsPairInit = {}): NetnsPair {
  const id = randomBytes(3).toString('hex')
  const a = `fl-${id}-a`
  const b = `fl-${id}-b`
  const vethA = `flv${id}a` // interface names: at most 15 characters
  const vethB = `flv${id}b`
  const base = randomInt(0, 64) * 4
  const third = randomInt(0, 256)
  const aIp = `10.231.${third}.${base + 1}`
  const bIp = `10.231.${third}.${base + 2}`
  const etc = path.join('/etc/netns', b)
  let removed = false
  const remove = () => {
    if (removed) return
    removed = true
    if (init.namesOfA !== undefined) rmSync(etc, { recursive: true, force: true })
    ip(['netns', 'del', a])
    ip(['netns', 'del', b])
    ip(['link', 'del', vethA]) // only if the pair never left the root namespace
  }
  try {
    must(['netns', 'add', a])
    must(['netns', 'add', b])
    must(['link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB])
    must(['link', 'set', vethA, 'netns', a])
    must(['link', 'set', vethB, 'netns', b])
    for (const [ns, dev, addr] of [
      [a, vethA, aIp],
      [b, vethB, bIp],
    ] as const) {
      must(['-n', ns, 'addr', 'add', `${addr}/30`, 'dev', dev])
      must(['-n', ns, 'link', 'set', dev, 'up'])
      must(['-n', ns, 'link', 'set', 'lo', 'up'])
    }
    if (init.namesOfA !== undefined) {
      mkdirSync(etc, { recursive: true })
      writeFileSync(path.join(etc, 'hosts'), `127.0.0.1 localhost\n${aIp} ${init.namesOfA.join(' ')}\n`)
    }
  } catch (err) {
    remove()
    throw err
  }
  return {
    a,
    b,
    aIp,
    bIp,
    linkBytes() {
      const stats = JSON.parse(must(['-n', a, '-s', '-j', 'link', 'show', vethA])) as { stats64: { rx: { bytes: number }; tx: { bytes: number } } }[]
      return { rx: stats[0]!.stats64.rx.bytes, tx: stats[0]!.stats64.tx.bytes }
    },
    remove,
  }
}

/** A `fedlineage` process inside a namespace, its output collected. */
export interface NsProcess {
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  output(): string
}

/**
 * Runs `fedlineage ARGS` inside namespace `ns`. Each folder in `readOnly` is
 * bind-mounted read-only onto itself first, in the mount namespace `ip netns
 * exec` makes for the child (never seen outside it), as a container's `:ro`
 * volume is: not even root writes there.
 */
export function fedlineageIn(ns: string, args: readonly string[], init: { readonly readOnly?: readonly string[] } = {}): NsProcess {
  const readOnly = init.readOnly ?? []
  // The shell execs node, so the child's pid is node's and a signal reaches it.
  const script = 'n=$1; shift; while [ "$n" -gt 0 ]; do mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 97; shift; n=$((n-1)); done; exec "$@"'
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', script, 'sh', String(readOnly.length), ...readOnly, process.execPath, BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FEDLINEAGE_LOG_LEVEL: 'info' },
  })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  // 'close' waits for the output streams too, so output() holds the last lines once exited resolves.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return { child, exited, output: () => out }
}

/** Resolves once `proc`'s output matches `pattern`; rejects if it exits first or `timeoutMs` passes. */
export async function waitForOutput(proc: NsProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const m = pattern.exec(proc.output())
    if (m) return m
    if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode} before printing ${pattern}:\n${proc.output()}`)
    if (Date.now() > until) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${proc.output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Resolves with `proc`'s exit code, or 'timeout' after `timeoutMs`. */
export function exitedWithin(proc: NsProcess, timeoutMs: number): Promise<number | null | 'timeout'> {
  return Promise.race([proc.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref())])
}

/** Entries and head hash of the log in `dir`, after verifying it (chain and signatures). */
export async function verifiedHeadOf(dir: string): Promise<{ entries: number; head: string }> {
  const storage = await openLevelStorage(dir)
  try {
    const v = await verifyLog(storage)
    return { entries: v.entries, head: Buffer.from(v.headHash).toString('hex') }
  } finally {
    await storage.close()
  }
}
