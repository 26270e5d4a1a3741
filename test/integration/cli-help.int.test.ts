/**
 * The real `fedlineage` program's help, run as a user runs it: every command
 * listed under exactly one role, the one COMMAND_ROLES gives it, so a new
 * command without a line in that table fails here.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { COMMAND_ROLES, HELP_COMMAND_ROLE, ROLE_HEADINGS } from '../../cli/index.ts'
import { commandSections } from '../helpers/help.ts'

const BIN = fileURLToPath(new URL('../../bin/fedlineage.mjs', import.meta.url))

/** `fedlineage <args>`: its stdout, after checking it exited 0 and printed nothing on stderr. */
async function fedlineage(...args: string[]): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } })
  expect(stderr).toBe('')
  return stdout
}

/** The heading COMMAND_ROLES gives a command path (`consent verify`); `help` is everyone's. */
function headingOf(path: string): string | undefined {
  if (path === 'help' || path.endsWith(' help')) return ROLE_HEADINGS[HELP_COMMAND_ROLE]
  return Object.hasOwn(COMMAND_ROLES, path) ? ROLE_HEADINGS[COMMAND_ROLES[path]!] : undefined
}

/** Each command listed, with every heading it is listed under. */
function listings(sections: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [heading, names] of sections) for (const name of names) out.set(name, [...(out.get(name) ?? []), heading])
  return out
}

describe('fedlineage --help', () => {
  let sections: Map<string, string[]>
  beforeAll(async () => {
    sections = commandSections(await fedlineage('--help'))
  })

  it('lists the commands under the four roles, in this order, and nowhere else', () => {
    expect([...sections.keys()]).toEqual(['Research hub:', 'Hospital site:', 'Auditor:', 'Everyone:'])
  })

  it('lists every command under exactly one role: the one COMMAND_ROLES gives it', () => {
    // Prepare
    const listed = listings(sections)
    // Execute
    const misplaced = [...listed].filter(([name, headings]) => headings.length !== 1 || headings[0] !== headingOf(name)).map(([name, headings]) => `${name}: ${headings.join(', ')}`)
    // Assert
    expect(listed.size).toBeGreaterThan(10)
    expect(misplaced).toEqual([])
  })

  it('lists every command COMMAND_ROLES names, and help', () => {
    const topLevel = Object.keys(COMMAND_ROLES).filter((path) => !path.includes(' '))
    expect([...listings(sections).keys()].sort()).toEqual([...topLevel, 'help'].sort())
  })

  it("puts each role's own commands under it", () => {
    expect(Object.fromEntries(sections)).toMatchObject({
      'Research hub:': expect.arrayContaining(['coordinator', 'round', 'status', 'rewards']),
      'Hospital site:': expect.arrayContaining(['site', 'consent']),
      'Auditor:': expect.arrayContaining(['audit', 'log']),
      'Everyone:': expect.arrayContaining(['demo', 'keygen', 'help']),
    })
  })
})

describe('fedlineage consent --help', () => {
  it("splits consent by role: the site's import and prove, the auditor's verify", async () => {
    // Execute
    const sections = commandSections(await fedlineage('consent', '--help'))
    // Assert
    expect([...sections]).toEqual([
      ['Hospital site:', ['import', 'prove']],
      ['Auditor:', ['verify']],
      ['Everyone:', ['help']],
    ])
    for (const [heading, names] of sections) for (const name of names) expect(headingOf(`consent ${name}`), `consent ${name}`).toBe(heading)
  })
})

describe('fedlineage --version', () => {
  it("prints the package's version and exits 0", async () => {
    // Prepare
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    // Execute
    const out = await fedlineage('--version')
    // Assert
    expect(out).toBe(`${version}\n`)
  })
})
