/**
 * The hub's log in two formats. `json` (pino's one object per line) is for
 * machines and stays the default when stderr is not a terminal; `pretty`
 * prints one line a person reads at a glance, and says round events in
 * words: "round 3 abandoned: 1 of 2 required updates by the deadline
 * (missing: site-b)". Both come from the same structured records, so a field
 * the JSON carries is never missing from the reasoning behind a human line.
 */
import { pino, type Logger } from 'pino'
import { CoordinatorConfigError } from './errors.ts'

export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

/** The format a `--log-format` value asks for; `auto` (or none) is pretty on a terminal, JSON elsewhere. */
export function resolveLogFormat(option: string | undefined, stderrIsTTY: boolean): LogFormat {
  if (option === undefined || option === 'auto') return stderrIsTTY ? 'pretty' : 'json'
  if ((LOG_FORMATS as readonly string[]).includes(option)) return option as LogFormat
  throw new CoordinatorConfigError(`--log-format ${option}: must be json, pretty or auto (auto: pretty on a terminal, JSON otherwise)`)
}

export interface HubLoggerInit {
  readonly format: LogFormat
  readonly level: string
  /** Where lines go (stderr by default). */
  readonly write?: (line: string) => void
}

/** The coordinator's pino logger writing `format` lines. */
export function createHubLogger(init: HubLoggerInit): Logger {
  if (init.format === 'json') return init.write ? pino({ level: init.level }, { write: init.write }) : pino({ level: init.level }, pino.destination(2))
  const write = init.write ?? ((line: string) => void process.stderr.write(line))
  return pino({ level: init.level }, { write: (json: string) => write(`${prettyLine(JSON.parse(json) as LogRecord)}\n`) })
}

/** One pino record, as parsed from its JSON line. */
export type LogRecord = Readonly<Record<string, unknown>>

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
/** pino's own keys, not shown as fields. */
const OWN_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg'])

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [])
const num = (v: unknown, digits: number): string => (typeof v === 'number' ? v.toFixed(digits) : '?')
const utc = (ms: unknown): string => (typeof ms === 'number' ? `${new Date(ms).toISOString().slice(11, 19)} UTC` : '?')

function duration(ms: unknown): string {
  if (typeof ms !== 'number') return '?'
  const s = Math.round(ms / 1000)
  return s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`
}

/** `loss 0.52, accuracy 0.76, AUC 0.81`: the weighted metrics people read first, then any other. */
function metricsText(m: unknown): string {
  if (typeof m !== 'object' || m === null) return ''
  const entries = Object.entries(m as Record<string, unknown>)
  const order = ['loss', 'accuracy', 'auc']
  entries.sort(([a], [b]) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99))
  return entries.map(([k, v]) => `${k === 'auc' ? 'AUC' : k} ${num(v, 3)}`).join(', ')
}

/** The human sentence of a round event or connection record, or undefined for the rest (shown as message and fields). */
export function eventText(r: LogRecord): string | undefined {
  const round = r['round']
  switch (r['msg']) {
    case 'round opened': {
      const sites = list(r['sites'])
      return `round ${round} opened: ${sites.length} site${sites.length === 1 ? '' : 's'} (${sites.join(', ')}), deadline ${utc(r['deadline'])}`
    }
    case 'update accepted':
      return `round ${round}: update accepted from ${r['site']}${r['accepted'] === undefined ? '' : ` (${r['accepted']} of ${r['planned']})`}`
    case 'update rejected':
      return `round ${round}: update from ${r['site']} refused: ${r['code']}${r['reason'] === undefined ? '' : `: ${r['reason']}`}`
    case 'statement rejected':
      return `round ${round}: statement from ${r['site']} refused: ${r['code']}${r['reason'] === undefined ? '' : `: ${r['reason']}`}`
    case 'round committed': {
      const sites = list(r['sites'])
      const loss = r['trainLoss'] === undefined ? '' : `, train loss ${num(r['trainLoss'], 4)}`
      return `round ${round} committed: ${sites.length} sites (${sites.join(', ')}), ${r['examples']} examples${loss}, model ${r['model']}`
    }
    case 'round evaluated': {
      const sites = list(r['sites'])
      return `round ${round} evaluated by ${sites.length} site${sites.length === 1 ? '' : 's'}: weighted ${metricsText(r['metrics']) || '(no metrics)'}`
    }
    case 'round abandoned': {
      const missing = list(r['missing'])
      const declined = list(r['declined'])
      if (r['accepted'] === undefined) return `round ${round} abandoned: ${r['reason']}`
      const by = r['atDeadline'] === true ? ' by the deadline' : ''
      const parts = [missing.length > 0 ? `missing: ${missing.join(', ')}` : '', declined.length > 0 ? `declined: ${declined.join(', ')}` : ''].filter((p) => p !== '')
      return `round ${round} abandoned: ${r['accepted']} of ${r['required']} required updates${by}${parts.length > 0 ? ` (${parts.join('; ')})` : ''}; the model stays where it was`
    }
    case 'round aborted':
      return `round ${round} aborted by the hub: ${r['reason']} (${r['accepted'] ?? '?'} of ${r['planned'] ?? '?'} updates were in; none is used)`
    case 'request refused':
      return `refused ${r['rpc']} from ${r['site']} at ${r['peer']}: ${r['code']}: ${r['reason']}`
    case 'site disconnected':
      return `${r['site']} disconnected after ${duration(r['connectedMs'])}: ${r['reason']}${r['code'] === undefined ? '' : ` (${r['code']})`}`
    default:
      if (typeof r['msg'] === 'string' && r['msg'].startsWith('request refused, repeated'))
        return `refused ${r['rpc']} from ${r['site']} at ${r['peer']} ${r['repeated']} more times (${r['code']}) in the last ${duration(r['windowMs'])}: ${r['reason']}`
      return undefined
  }
}

/** `16:05:12 WARN  round 3 abandoned: …`: one record as a line for people. */
export function prettyLine(r: LogRecord): string {
  const time = typeof r['time'] === 'number' ? new Date(r['time']).toISOString().slice(11, 19) : '--:--:--'
  const level = (LEVELS[r['level'] as number] ?? 'INFO').padEnd(5)
  const text = eventText(r)
  if (text !== undefined) return `${time} ${level} ${text}`
  const fields = Object.entries(r)
    .filter(([k]) => !OWN_KEYS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : k === 'err' && typeof v === 'object' && v !== null ? String((v as { message?: unknown }).message) : JSON.stringify(v)}`)
  return `${time} ${level} ${String(r['msg'] ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}`
}
