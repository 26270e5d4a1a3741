/**
 * A coordinator that has too many upload bytes in flight answers COORD_BUSY
 * before it reads the envelope: nothing is logged and the envelope is not
 * spent, so the same upload is simply sent again later. The retries back off
 * exponentially with full jitter, so sites refused together do not come back
 * together.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { SiteRequestRejectedError } from './errors.ts'

/** The coordinator's code for "too much in flight, send again later". */
export const COORDINATOR_BUSY_CODE = 'COORD_BUSY'

export interface BusyRetryInit {
  /** Give up (rethrow the last COORD_BUSY) once this much time has passed. */
  readonly maxWaitMs: number
  readonly firstDelayMs?: number
  readonly maxDelayMs?: number
  /** Told of each refusal and the pause before the next attempt. */
  readonly onBusy?: (attempt: number, delayMs: number) => void
  readonly sleep?: (ms: number) => Promise<void>
  readonly random?: () => number
  readonly now?: () => number
}

export function isCoordinatorBusy(err: unknown): boolean {
  return err instanceof SiteRequestRejectedError && err.remoteCode === COORDINATOR_BUSY_CODE
}

/** Runs `attempt`, again after a pause each time it fails with COORD_BUSY; any other outcome is returned or thrown as is. */
export async function retryWhileBusy<T>(attempt: () => Promise<T>, init: BusyRetryInit): Promise<T> {
  const sleep = init.sleep ?? ((ms: number) => delay(ms))
  const random = init.random ?? Math.random
  const now = init.now ?? Date.now
  const first = init.firstDelayMs ?? 250
  const cap = init.maxDelayMs ?? 8_000
  const giveUpAt = now() + init.maxWaitMs
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      if (!isCoordinatorBusy(err)) throw err
      const delayMs = Math.round(random() * Math.min(cap, first * 2 ** (n - 1)))
      if (now() + delayMs > giveUpAt) throw err
      init.onBusy?.(n, delayMs)
      await sleep(delayMs)
    }
  }
}
