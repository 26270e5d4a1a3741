/** Status of a failed command. */
export const EXIT_FAILURE = 1

/** Code printed for an error that carries none: a bug rather than a condition we name. */
export const UNCODED_ERROR = 'INTERNAL'
