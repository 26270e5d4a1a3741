/** Constants of the auditor's output. */

/** Hex digits of a hash shown in tables and the lineage line (48 bits: unique within any one study). */
export const HASH_PREFIX_HEX_DIGITS = 12

/** Separator between the models of the lineage line. */
export const LINEAGE_ARROW = ' → '
