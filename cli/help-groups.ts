/**
 * The program's help, grouped by who runs each command: the research hub,
 * a hospital site, an auditor, or anyone. The grouping lives here alone;
 * each folder registers its commands without knowing it, and the program
 * applies it once, after registering them all.
 */
import { Help, type Command, type Option } from 'commander'

/** The users of the program, in the order help lists their commands. */
export const ROLE_HEADINGS = {
  hub: 'Research hub:',
  site: 'Hospital site:',
  auditor: 'Auditor:',
  everyone: 'Everyone:',
} as const

export type Role = keyof typeof ROLE_HEADINGS

/**
 * Who runs each command, by its path below the program (`consent verify`).
 * A command whose subcommands serve different roles names each of them as
 * well; the subcommands of a single-role command are listed under it as they
 * are. Adding a command means adding its line here.
 */
export const COMMAND_ROLES: Readonly<Record<string, Role>> = {
  coordinator: 'hub',
  round: 'hub',
  status: 'hub',
  rewards: 'hub',
  dataset: 'hub',
  provision: 'hub',
  membership: 'hub',
  site: 'site',
  study: 'site',
  consent: 'site',
  'consent import': 'site',
  'consent prove': 'site',
  'consent verify': 'auditor',
  audit: 'auditor',
  log: 'auditor',
  model: 'everyone',
  predict: 'everyone',
  demo: 'everyone',
  keygen: 'everyone',
  witness: 'site',
}

/** The role of every grouped command's `help` subcommand. */
export const HELP_COMMAND_ROLE: Role = 'everyone'

const HEADING_ORDER: readonly string[] = Object.values(ROLE_HEADINGS)

/**
 * Sets each command's help group from `roles` and lists the groups in
 * ROLE_HEADINGS order. Every command with grouped subcommands gets a `help`
 * subcommand in HELP_COMMAND_ROLE's group. A command `roles` does not name
 * stays under commander's `Commands:` heading, where the help test finds it.
 * Call it after every command is registered.
 */
export function applyHelpGroups(program: Command, roles: Readonly<Record<string, Role>> = COMMAND_ROLES): Command {
  groupSubcommands(program, '', roles)
  return program
}

function groupSubcommands(command: Command, prefix: string, roles: Readonly<Record<string, Role>>): void {
  let grouped = false
  for (const sub of command.commands) {
    const path = prefix + sub.name()
    const role = Object.hasOwn(roles, path) ? roles[path] : undefined
    if (role !== undefined) {
      sub.helpGroup(ROLE_HEADINGS[role])
      grouped = true
    }
    groupSubcommands(sub, `${path} `, roles)
  }
  if (!grouped) return
  // commander's own help subcommand, made explicit so that it carries a group.
  const help = command.createCommand('help').helpOption(false).argument('[command]').description('display help for command').helpGroup(ROLE_HEADINGS[HELP_COMMAND_ROLE])
  command.addHelpCommand(help)
  command.configureHelp({ ...command.configureHelp(), groupItems: groupItemsByRole })
}

/**
 * commander's grouping (groups in order of first appearance), then the role
 * groups sorted into ROLE_HEADINGS order after any other heading (`Options:`).
 */
function groupItemsByRole<T extends Command | Option>(this: Help, unsortedItems: T[], visibleItems: T[], getGroup: (item: T) => string): Map<string, T[]> {
  const groups = (Help.prototype.groupItems<T>).call(this, unsortedItems, visibleItems, getGroup)
  return new Map([...groups].sort(([a], [b]) => HEADING_ORDER.indexOf(a) - HEADING_ORDER.indexOf(b)))
}
