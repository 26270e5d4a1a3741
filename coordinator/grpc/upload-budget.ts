/**
 * The cap on upload bytes in flight across all uploads. Each upload reserves
 * its delta's size when its envelope arrives and gives it back when its call
 * closes, so concurrent uploads cannot hold more than the cap between them;
 * the one over is refused with COORD_BUSY before its envelope is read (so
 * nothing is logged and the envelope is not spent) and the site retries
 * later. One upload is always let in when none is in flight, so a delta
 * larger than the cap is slow, never impossible.
 */
import { CoordinatorBusyError } from '../errors.ts'

export class UploadBudget {
  private inFlight = 0

  constructor(private readonly capBytes: number) {}

  /** Bytes reserved by uploads now in flight. */
  get bytesInFlight(): number {
    return this.inFlight
  }

  /**
   * Reserves `bytes`; returns the function that gives them back (idempotent).
   * Throws CoordinatorBusyError when they do not fit beside those in flight.
   */
  reserve(bytes: number): () => void {
    if (this.inFlight > 0 && this.inFlight + bytes > this.capBytes)
      throw new CoordinatorBusyError(
        `${this.inFlight} upload bytes are in flight and this upload needs ${bytes} more, over the coordinator's cap of ${this.capBytes}; send the same envelope again after a pause`,
      )
    this.inFlight += bytes
    let held = true
    return () => {
      if (!held) return
      held = false
      this.inFlight -= bytes
    }
  }
}
