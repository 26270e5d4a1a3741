/**
 * What every command's help shows beyond commander's defaults: required
 * options marked `(required)`, and examples after the options. The program
 * applies markRequiredOptions once, after registering every command; each
 * command adds its own examples with `addHelpText('after', examples(...))`.
 */
import { Help, type Command, type Option } from 'commander'

/** Appended to the description of an option commander enforces (`requiredOption`, `makeOptionMandatory`). */
export const REQUIRED_MARK = '(required)'

/** The heading of a command's examples, as the help test reads it. */
export const EXAMPLES_HEADING = 'Examples:'

/**
 * Help text listing each line as a shell command: pass it to
 * `cmd.addHelpText('after', examples('fedlineage keygen --out keys --name hub'))`.
 */
export function examples(...lines: readonly string[]): string {
  return `\n${EXAMPLES_HEADING}\n${lines.map((line) => `  $ ${line}`).join('\n')}`
}

/**
 * Marks each mandatory option `(required)` in the help of `command` and of
 * every command below it. commander enforces such options but its help does
 * not say so. Call it after every command is registered.
 */
export function markRequiredOptions(command: Command): Command {
  command.configureHelp({ ...command.configureHelp(), optionDescription: describeOption })
  for (const sub of command.commands) markRequiredOptions(sub)
  return command
}

function describeOption(this: Help, option: Option): string {
  const text = Help.prototype.optionDescription.call(this, option)
  return option.mandatory ? `${text} ${REQUIRED_MARK}` : text
}
