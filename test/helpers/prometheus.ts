/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4),
 * as prom-client writes it: `# HELP` and `# TYPE` lines, then samples
 * `name{label="value",...} number`. Any other line fails the parse, so a test
 * scraping `/metrics` also checks the output is well-formed.
 */
export interface PromSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface PromScrape {
  readonly types: ReadonlyMap<string, string>
  readonly samples: readonly PromSample[]
  /** The sum of the samples of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:[0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf))(?: -?\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy
const META = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export function parsePrometheusText(text: string): PromScrape {
  const types = new Map<string, string>()
  const samples: PromSample[] = []
  text.split('\n').forEach((line, i) => {
    if (line === '') return
    const meta = META.exec(line)
    if (meta) {
      if (meta[1] === 'TYPE') {
        if (!TYPES.has(meta[3]!)) throw new Error(`line ${i + 1}: unknown metric type "${meta[3]}"`)
        types.set(meta[2]!, meta[3]!)
      }
      return
    }
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`line ${i + 1}: not a Prometheus sample: ${line}`)
    const labels: Record<string, string> = {}
    if (m[2] !== undefined && m[2] !== '') {
      LABEL.lastIndex = 0
      let consumed = 0
      for (let l = LABEL.exec(m[2]); l !== null; l = LABEL.exec(m[2])) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
        consumed = LABEL.lastIndex
      }
      if (consumed !== m[2].length) throw new Error(`line ${i + 1}: malformed labels: {${m[2]}}`)
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    if (Number.isNaN(value) && m[3]!.toLowerCase() !== 'nan') throw new Error(`line ${i + 1}: bad value ${m[3]}`)
    samples.push({ name: m[1]!, labels, value })
  })
  return {
    types,
    samples,
    value(name, want = {}) {
      const hits = samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v))
      return hits.length === 0 ? undefined : hits.reduce((n, s) => n + s.value, 0)
    },
  }
}
