/**
 * Constants of the TF.js shell of `models/`. (Constants of the pure core are
 * in `core/constants.ts`.)
 */

/** Environment variable that overrides the TF.js backend choice: `auto`, `wasm`, `cpu` or `tensorflow`. */
export const TF_BACKEND_ENV = 'FEDLINEAGE_TF_BACKEND'

/** Rows per forward pass when predicting, to bound device memory on large evaluation sets. */
export const PREDICT_BATCH_ROWS = 8192

/** Local training yields to the event loop at least this often, so a site agent's RPCs stay responsive. */
export const TRAIN_YIELD_INTERVAL_MS = 50
