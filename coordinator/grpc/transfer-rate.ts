/**
 * The minimum transfer rate of an upload. The idle limit drops an upload that
 * sends nothing; a client that sends one byte a second resets it for ever and
 * holds its upload slot, its reserved bytes and its connection. This watches
 * the bytes an upload delivers in each window and reports it as too slow when
 * a window brings fewer than `minBytesPerSecond × windowMs / 1000`, or fewer
 * than the bytes still owed, whichever is smaller (a small delta's last
 * window is not judged against the full rate).
 *
 * A window whose check runs late (the coordinator's own event loop was busy,
 * say with a commit) is not judged: the bytes that arrived meanwhile are still
 * queued, and the delay is the coordinator's, not the site's.
 */

export interface TransferRateInit {
  /** 0 turns the check off. */
  readonly minBytesPerSecond: number
  readonly windowMs: number
}

/** What a too-slow window brought, for the refusal's message. */
export interface SlowWindow {
  readonly bytes: number
  readonly wantBytes: number
  readonly windowMs: number
}

/** A check that runs this much later than due (as a share of the window) skips its window. */
const LATE_SHARE = 0.25

export class TransferRate {
  private timer: NodeJS.Timeout | undefined
  private windowBytes = 0
  private due = 0

  /**
   * Starts watching an upload that still owes `remainingBytes`; `onTooSlow`
   * is called at most once, after which the watch is stopped.
   */
  constructor(
    private readonly init: TransferRateInit,
    private remainingBytes: number,
    private readonly onTooSlow: (w: SlowWindow) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (init.minBytesPerSecond > 0) this.arm()
  }

  /** Counts `bytes` delivered by the upload. */
  add(bytes: number): void {
    this.windowBytes += bytes
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private arm(): void {
    this.due = this.now() + this.init.windowMs
    this.timer = setTimeout(() => this.check(), this.init.windowMs)
    this.timer.unref()
  }

  private check(): void {
    const late = this.now() - this.due > this.init.windowMs * LATE_SHARE
    const want = Math.min(Math.ceil((this.init.minBytesPerSecond * this.init.windowMs) / 1000), this.remainingBytes)
    const got = this.windowBytes
    this.remainingBytes = Math.max(0, this.remainingBytes - got)
    this.windowBytes = 0
    if (!late && got < want) {
      this.timer = undefined
      this.onTooSlow({ bytes: got, wantBytes: want, windowMs: this.init.windowMs })
      return
    }
    this.arm()
  }
}
