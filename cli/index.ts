/**
 * @packageDocumentation
 *
 * The runtime every fedlineage command shares, whichever folder registers
 * it: where a command writes (`CliIo`, io.ts), and the one top-level handler
 * that turns a thrown error into `CODE: message` on stderr and a failing
 * exit status (run-command.ts, error-line.ts). Commands throw typed errors;
 * they never print their own failures or call process.exit.
 *
 * The program's help lists commands by who runs them: the research hub, a
 * hospital site, an auditor, or everyone (help-groups.ts, `COMMAND_ROLES`,
 * one line per command).
 *
 * ```ts
 * applyHelpGroups(program) // after every folder registered its commands
 * const status = await runCommand(() => program.parseAsync(process.argv), { exitStatus: exitStatusOf })
 * ```
 *
 * Every command's help marks its required options and ends with examples
 * (help-text.ts): `cmd.addHelpText('after', examples('fedlineage …'))`.
 *
 * It knows commander and nothing else of ours: each folder registers its own
 * commands (`<folder>/cli.ts`) and `bin/fedlineage.ts` composes them.
 */
export { EXIT_FAILURE, UNCODED_ERROR } from './constants.ts'
export { processIo, type CliIo } from './io.ts'
export { errorCode, formatCliError } from './error-line.ts'
export { runCommand, type RunCommandInit } from './run-command.ts'
export { EXIT_PARTIAL, EXIT_USAGE, PARTIAL_AUDIT_CODE, exitStatusOf } from './exit-status.ts'
export { COMMAND_ROLES, HELP_COMMAND_ROLE, ROLE_HEADINGS, applyHelpGroups, type Role } from './help-groups.ts'
export { EXAMPLES_HEADING, REQUIRED_MARK, examples, markRequiredOptions } from './help-text.ts'
