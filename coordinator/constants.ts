/**
 * Defaults that both a command's definition (cli.ts, loaded for `--help`)
 * and the code behind it need: kept here, free of imports, so help shows
 * the value the command uses.
 */

/** `status --flag-gap`: accuracy or AUC points below the weighted mean that flag a site. */
export const DEFAULT_FLAG_GAP = 0.1
