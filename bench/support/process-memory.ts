/**
 * Memory of another process from /proc/<pid>/status: how the benches that run
 * the coordinator in a process of its own (abuse, model-size) measure it
 * without counting their own clients.
 */
import { readFileSync } from 'node:fs'

/** Resident memory of `pid` now and its high-water mark, in bytes (0 once the process is gone). */
export function memoryOf(pid: number): { rssBytes: number; hwmBytes: number } {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return { rssBytes: 0, hwmBytes: 0 }
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') }
}
