/**
 * The help of every command of the real program: each command a user runs
 * ends with examples of itself, and each option commander requires says so.
 * A new command without examples fails here.
 */
import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { buildProgram } from '../../../bin/program.ts'
import { EXAMPLES_HEADING, REQUIRED_MARK } from '../../../cli/index.ts'

/** Every command with an action (no subcommands of its own but commander's `help`), by its path. */
function runnableCommands(command: Command, prefix = ''): [string, Command][] {
  const subs = command.commands.filter((c) => c.name() !== 'help')
  const out: [string, Command][] = []
  for (const sub of subs) out.push(...runnableCommands(sub, `${prefix}${sub.name()} `))
  if (subs.length === 0) out.push([prefix.trim(), command])
  return out
}

/** The help a user sees for `command`, with the text added after it. */
function helpOf(command: Command): string {
  let text = ''
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) })
  command.outputHelp()
  return text
}

const COMMANDS = runnableCommands(buildProgram())

describe('every command of fedlineage', () => {
  it('is found', () => {
    expect(COMMANDS.map(([p]) => p)).toEqual(expect.arrayContaining(['audit', 'keygen', 'log verify', 'consent verify', 'site check', 'round start', 'model export', 'predict', 'demo']))
  })

  it.each(COMMANDS)('%s: its help ends with examples of itself', (commandPath, command) => {
    // Execute
    const help = helpOf(command)
    const examples = help
      .slice(help.indexOf(`\n${EXAMPLES_HEADING}\n`) + 1)
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '')
    // Assert
    expect(help).toContain(`\n${EXAMPLES_HEADING}\n`)
    expect(examples.length).toBeGreaterThan(0)
    expect(examples.some((l) => l.startsWith(`  $ fedlineage ${commandPath}`))).toBe(true)
    for (const line of examples) expect(line).toMatch(/^ {2}\$ fedlineage /)
  })

  it.each(COMMANDS)('%s: marks each required option, and only those', (_, command) => {
    // Execute
    const entries = optionEntries(helpOf(command))
    const marked = command.options.filter((o) => entries.find((e) => e.startsWith(`${o.flags} `))?.includes(REQUIRED_MARK))
    // Assert
    expect(marked.map((o) => o.long)).toEqual(command.options.filter((o) => o.mandatory || o.description.endsWith(REQUIRED_MARK)).map((o) => o.long))
  })
})

/** The entries of a help's `Options:` section, each with its wrapped lines joined. */
function optionEntries(help: string): string[] {
  const section = help.split('\nOptions:\n')[1]!.split('\n\n')[0]!
  const entries: string[] = []
  for (const line of section.split('\n')) {
    if (/^ {2}-/.test(line)) entries.push(line.trim())
    else entries[entries.length - 1] += ` ${line.trim()}`
  }
  return entries
}

describe('keygen --help', () => {
  it('marks --out required, not --name', () => {
    const help = helpOf(COMMANDS.find(([p]) => p === 'keygen')![1])
    expect(help).toMatch(/--out <dir> +directory for the key files \(created with mode 0700\) \(required\)/)
    expect(help).toMatch(/--name <name> +file name stem \(default: "identity"\)\n/)
  })
})
