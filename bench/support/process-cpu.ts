/**
 * CPU time of another process from /proc/<pid>/task/<tid>/schedstat (ns on a
 * CPU, per thread, summed): what a bench charges the coordinator in its own
 * process for some work, at nanosecond resolution (/proc/<pid>/stat counts in
 * 10 ms ticks, as coarse as the work it would time).
 */
import { readdirSync, readFileSync } from 'node:fs'

/** CPU time `pid` has used so far, all its threads (the event loop, libuv's pool, V8's GC helpers, LevelDB's), in ms; 0 once it is gone. */
export function cpuMsOf(pid: number): number {
  let tasks: string[]
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return 0
  }
  let ns = 0
  for (const tid of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // A thread that ended between the listing and the read used no more CPU.
    }
  }
  return ns / 1e6
}
