/** The coordinator's commands of the `fedlineage` CLI: one command per file in `commands/`. */
import type { Command } from 'commander'
import { registerCoordinatorCommand } from './commands/coordinator.ts'
import { registerRoundCommands } from './commands/round-start.ts'
import { registerStatusCommand } from './commands/status.ts'
import { registerRewardsCommand } from './commands/rewards.ts'
import { registerMembershipCommands } from './commands/membership.ts'

export function registerCoordinatorCommands(program: Command): void {
  registerCoordinatorCommand(program)
  registerRoundCommands(program)
  registerStatusCommand(program)
  registerRewardsCommand(program)
  registerMembershipCommands(program)
}
