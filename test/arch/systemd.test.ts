/**
 * The systemd units in deploy/systemd/, checked by reading them (and by
 * `systemd-analyze verify` where it is installed): each runs the fedlineage
 * CLI's command for its role, as an unprivileged user, restarts on failure,
 * writes only its StateDirectory (which its config must name), and keeps the
 * hardening options.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const DIR = fileURLToPath(new URL('../../deploy/systemd/', import.meta.url))

const UNITS = {
  'fedlineage-hub.service': { command: 'coordinator', config: '/etc/fedlineage/hub.json', state: 'fedlineage', field: '"dataDir": "/var/lib/fedlineage/' },
  'fedlineage-site.service': { command: 'site', config: '/etc/fedlineage/site.json', state: 'fedlineage-site', field: '"stateDir": "/var/lib/fedlineage-site"' },
} as const

/** `Key=value` lines of a unit, every value of each key (comments skipped). */
function settings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!])
  }
  return out
}

const HARDENING = {
  NoNewPrivileges: 'yes',
  CapabilityBoundingSet: '',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectControlGroups: 'yes',
  RestrictSUIDSGID: 'yes',
  RestrictNamespaces: 'yes',
  LockPersonality: 'yes',
  SystemCallArchitectures: 'native',
} as const

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' })
const noAnalyze = analyze.status === 0 ? undefined : 'systemd-analyze is not installed'

describe.each(Object.entries(UNITS))('deploy/systemd/%s', (file, unit) => {
  const text = readFileSync(path.join(DIR, file), 'utf8')
  const s = settings(text)
  const one = (key: string) => {
    expect(s.get(key), key).toHaveLength(1)
    return s.get(key)![0]!
  }

  it("runs the role's command with its config, as the unprivileged fedlineage user", () => {
    expect(one('ExecStart')).toBe(`/usr/bin/env node /opt/fedlineage/bin/fedlineage.mjs ${unit.command} --config ${unit.config}`)
    expect(one('User')).toBe('fedlineage')
    expect(one('Group')).toBe('fedlineage')
    expect(one('Type')).toBe('exec')
  })

  it('restarts on failure, with a limit, and stops on SIGTERM', () => {
    expect(one('Restart')).toBe('on-failure')
    expect(one('RestartSec')).toMatch(/^\d+s$/)
    expect(one('StartLimitBurst')).toMatch(/^\d+$/)
    expect(text.indexOf('StartLimitBurst')).toBeLessThan(text.indexOf('[Service]'))
    expect(one('KillSignal')).toBe('SIGTERM')
  })

  it('writes only its state directory, which the config it documents names', () => {
    expect(one('StateDirectory')).toBe(unit.state)
    expect(one('StateDirectoryMode')).toBe('0700')
    expect(one('WorkingDirectory')).toBe(`/var/lib/${unit.state}`)
    expect(one('UMask')).toBe('0077')
    expect(text).toContain(unit.field)
  })

  it('keeps the hardening options, and never denies V8 its writable-executable memory', () => {
    for (const [key, value] of Object.entries(HARDENING)) expect(one(key), key).toBe(value)
    expect(s.has('MemoryDenyWriteExecute')).toBe(false)
    expect(s.get('SystemCallFilter')).toContain('@system-service')
    // Node raises its open-file limit with setrlimit at start: filtering @resources would stop it.
    expect(s.get('SystemCallFilter')!.join(' ')).not.toContain('@resources')
    // os.networkInterfaces (a wildcard listen address) reads the interfaces over netlink.
    expect(one('RestrictAddressFamilies').split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX'])
  })

  it.skipIf(noAnalyze !== undefined)(`passes systemd-analyze verify${noAnalyze ? ` [skipped: ${noAnalyze}]` : ''}`, () => {
    const r = spawnSync('systemd-analyze', ['verify', path.join(DIR, file)], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr.trim()).toBe('')
  })
})
