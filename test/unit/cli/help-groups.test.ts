/** Help grouped by role: headings from the role table, in role order, with help under Everyone. */
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { COMMAND_ROLES, HELP_COMMAND_ROLE, ROLE_HEADINGS, applyHelpGroups, type Role } from '../../../cli/index.ts'
import { commandSections, helpSections } from '../../helpers/help.ts'

/** A program registered in an order unlike the roles' (everyone's command first, the auditor's last). */
function sampleProgram(program = new Command('fedlineage')): Command {
  program.command('hello').description('everyone')
  program.command('serve').description('hub')
  const data = program.command('data').description('shared by roles')
  data.command('load').description('site')
  data.command('check').description('auditor')
  const ledger = program.command('ledger').description('auditor only')
  ledger.command('replay')
  ledger.command('dump')
  return program
}

const SAMPLE_ROLES: Readonly<Record<string, Role>> = {
  hello: 'everyone',
  serve: 'hub',
  data: 'site',
  'data load': 'site',
  'data check': 'auditor',
  ledger: 'auditor',
}

describe('applyHelpGroups', () => {
  it('lists the commands under their role, in role order, with help under Everyone', () => {
    // Prepare
    const program = sampleProgram()
    // Execute
    applyHelpGroups(program, SAMPLE_ROLES)
    // Assert
    expect([...commandSections(program.helpInformation())]).toEqual([
      ['Research hub:', ['serve']],
      ['Hospital site:', ['data']],
      ['Auditor:', ['ledger']],
      ['Everyone:', ['hello', 'help']],
    ])
  })

  it('keeps Options: first', () => {
    const program = applyHelpGroups(sampleProgram().option('--verbose'), SAMPLE_ROLES)
    expect([...helpSections(program.helpInformation()).keys()][0]).toBe('Options:')
  })

  it('groups the subcommands of a command shared by roles, help included', () => {
    const program = applyHelpGroups(sampleProgram(), SAMPLE_ROLES)
    const data = program.commands.find((c) => c.name() === 'data')!
    expect([...commandSections(data.helpInformation())]).toEqual([
      ['Hospital site:', ['load']],
      ['Auditor:', ['check']],
      ['Everyone:', ['help']],
    ])
  })

  it("leaves a single-role command's subcommands under commander's heading", () => {
    const program = applyHelpGroups(sampleProgram(), SAMPLE_ROLES)
    const ledger = program.commands.find((c) => c.name() === 'ledger')!
    expect([...commandSections(ledger.helpInformation())]).toEqual([['Commands:', ['replay', 'dump', 'help']]])
  })

  it("shows a command the table does not name under commander's Commands:, where the help test finds it", () => {
    // Prepare
    const program = sampleProgram()
    program.command('orphan')
    // Execute
    applyHelpGroups(program, SAMPLE_ROLES)
    // Assert
    expect(commandSections(program.helpInformation()).get('Commands:')).toEqual(['orphan'])
  })

  it('keeps `help <command>` working', async () => {
    // Prepare
    let out = ''
    const root = new Command('fedlineage').exitOverride().configureOutput({ writeOut: (s) => void (out += s) })
    const program = applyHelpGroups(sampleProgram(root), SAMPLE_ROLES)
    // Execute
    const parsed = program.parseAsync(['node', 'fedlineage', 'help', 'data'])
    // Assert
    await expect(parsed).rejects.toMatchObject({ code: 'commander.help', exitCode: 0 })
    expect(out).toMatch(/^Usage: fedlineage data /)
  })

  it('takes no inherited property for a role (a command named constructor)', () => {
    const program = new Command('fedlineage')
    program.command('constructor')
    applyHelpGroups(program, SAMPLE_ROLES)
    expect(commandSections(program.helpInformation()).get('Commands:')).toEqual(['constructor', 'help'])
  })
})

describe('COMMAND_ROLES', () => {
  it('names a subcommand only below a named command', () => {
    const orphans = Object.keys(COMMAND_ROLES).filter((path) => path.includes(' ') && !Object.hasOwn(COMMAND_ROLES, path.slice(0, path.lastIndexOf(' '))))
    expect(orphans).toEqual([])
  })

  it('has one heading per role, and help belongs to everyone', () => {
    expect(ROLE_HEADINGS).toEqual({ hub: 'Research hub:', site: 'Hospital site:', auditor: 'Auditor:', everyone: 'Everyone:' })
    expect(HELP_COMMAND_ROLE).toBe('everyone')
  })
})
