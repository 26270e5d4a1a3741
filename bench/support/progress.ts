/**
 * A progress bar on stderr for long benchmark runs. Only drawn when stderr
 * is a terminal, so piped or CI output stays clean; otherwise every call is
 * a no-op.
 */
import cliProgress from 'cli-progress'

export interface BenchProgress {
  /** Advances by one step and shows `label` (e.g. "seed 42 round 3/15"). */
  tick(label: string): void
  stop(): void
}

export function benchProgress(total: number, title: string): BenchProgress {
  if (!process.stderr.isTTY) return { tick: () => undefined, stop: () => undefined }
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${title} [{bar}] {value}/{total} | {label} | {duration_formatted}`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  )
  bar.start(total, 0, { label: 'starting' })
  return {
    tick: (label) => bar.increment(1, { label }),
    stop: () => bar.stop(),
  }
}
