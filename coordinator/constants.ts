/**
 * Defaults that both a command's definition (cli.ts, loaded for `--help`)
 * and the code behind it need: kept here, free of imports, so help shows
 * the value the command uses.
 */

/** `status --flag-gap`: accuracy or AUC points below the weighted mean that flag a site. */
export const DEFAULT_FLAG_GAP = 0.1

/** The coordinator's private DP noise seeds, in its data directory (coordinator/noise-seeds.ts); never replicated. */
export const NOISE_SEEDS_FILE = 'dp-seeds.json'
