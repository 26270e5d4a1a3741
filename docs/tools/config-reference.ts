/**
 * Generates docs/config.md, the reference of every field of `hub.json` and
 * `site.json`, from the zod schemas that validate them, so the reference
 * cannot drift from what the code accepts:
 *
 * - structure, types, constraints and defaults come from the schemas
 *   themselves (walked at run time, each leaf described from zod's own JSON
 *   Schema export);
 * - each field's description is the doc comment written above it in the
 *   source. Comments are matched to run-time object schemas by their set of
 *   keys: the source's `z.strictObject({ … })` / `z.object({ … })` literals are
 *   parsed with the TypeScript compiler, and an object schema takes the
 *   comments of the literal with exactly its keys.
 *
 *   npx tsx docs/tools/config-reference.ts          # rewrite docs/config.md
 *   npx tsx docs/tools/config-reference.ts --check  # exit 1 if it is stale
 *
 * test/arch/config-reference.test.ts runs the check.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { z } from 'zod'
import { HubConfigSchema } from '../../coordinator/index.ts'
import { SiteConfigSchema } from '../../site-agent/index.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CONFIG_REFERENCE_FILE = path.join(ROOT, 'docs', 'config.md')
/** Folders whose sources hold the config schemas (and the schemas they embed). */
const SOURCE_FOLDERS = ['coordinator', 'site-agent', 'models', 'pki', 'protocol', 'ledger']

type Schema = z.core.$ZodType
type Def = { readonly type: string; readonly [k: string]: unknown }
const defOf = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def

// ---- doc comments from the sources ------------------------------------------------------------

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === 'gen' || e.name === 'node_modules' ? [] : tsFiles(p)
    return e.name.endsWith('.ts') ? [p] : []
  })
}

/** The keys and doc comments of an object literal's own properties. */
function propertyDocs(literal: ts.ObjectLiteralExpression): { keys: string[]; docs: Map<string, string> } {
  const docs = new Map<string, string>()
  const keys: string[] = []
  for (const prop of literal.properties) {
    if (!prop.name || !(ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name))) continue
    keys.push(prop.name.text)
    const text = ts
      .getJSDocCommentsAndTags(prop)
      .filter(ts.isJSDoc)
      .map((d) => ts.getTextOfJSDocComment(d.comment) ?? '')
      .join(' ')
    if (text) docs.set(prop.name.text, text.replace(/\s+/g, ' ').trim())
  }
  return { keys, docs }
}

/** `name=x` for a literal with a property `name: z.literal('x')` (a discriminated union's member). */
function discriminatorOf(literal: ts.ObjectLiteralExpression): string | undefined {
  for (const prop of literal.properties) {
    if (!ts.isPropertyAssignment(prop) || !ts.isIdentifier(prop.name) || prop.name.text !== 'name') continue
    const init = prop.initializer
    if (
      ts.isCallExpression(init) &&
      ts.isPropertyAccessExpression(init.expression) &&
      init.expression.name.text === 'literal' &&
      init.arguments[0] !== undefined &&
      ts.isStringLiteral(init.arguments[0])
    ) {
      return `name=${init.arguments[0].text}`
    }
  }
  return undefined
}

/**
 * Object literals bound to a `const` (`const OPTIONS = { … }`), by name: a
 * schema literal that spreads one (`...OPTIONS`) has its keys and comments too.
 */
function spreadSources(sources: readonly ts.SourceFile[]): Map<string, { keys: string[]; docs: Map<string, string> }> {
  const out = new Map<string, { keys: string[]; docs: Map<string, string> }>()
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined && ts.isObjectLiteralExpression(node.initializer)) {
      out.set(node.name.text, propertyDocs(node.initializer))
    }
    ts.forEachChild(node, visit)
  }
  for (const source of sources) visit(source)
  return out
}

/** Doc comments of the properties of every `z.object` / `z.strictObject` literal, keyed by the literal's sorted key list. */
function docCommentsByShape(): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>()
  const sources = SOURCE_FOLDERS.flatMap((f) => tsFiles(path.join(ROOT, f))).map((file) => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true))
  const spreads = spreadSources(sources)
  for (const source of sources) {
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        ['object', 'strictObject', 'looseObject'].includes(node.expression.name.text) &&
        node.arguments[0] !== undefined &&
        ts.isObjectLiteralExpression(node.arguments[0])
      ) {
        const { keys, docs } = propertyDocs(node.arguments[0])
        for (const prop of node.arguments[0].properties) {
          const spread = ts.isSpreadAssignment(prop) && ts.isIdentifier(prop.expression) ? spreads.get(prop.expression.text) : undefined
          if (spread === undefined) continue
          keys.push(...spread.keys)
          for (const [k, v] of spread.docs) docs.set(k, v)
        }
        const shape = [...keys].sort().join(',')
        const known = out.get(shape)
        // Two literals with the same keys: keep every comment either has.
        out.set(shape, known ? new Map([...docs, ...known]) : docs)
        // A union member is told apart by its discriminator: `name: z.literal('x')` also keys its own comments.
        const tag = discriminatorOf(node.arguments[0])
        if (tag !== undefined) out.set(`${shape}|${tag}`, docs)
      }
      ts.forEachChild(node, visit)
    }
    visit(source)
  }
  return out
}

// ---- the schemas ---------------------------------------------------------------------------

interface Row {
  readonly field: string
  readonly type: string
  readonly required: boolean
  readonly default: string
  readonly description: string
}

/** Strips wrappers, remembering whether the field may be left out and what it then defaults to. */
function unwrap(schema: Schema): { inner: Schema; optional: boolean; default?: unknown } {
  let s = schema
  let optional = false
  let dflt: unknown
  for (;;) {
    const d = defOf(s)
    if (d.type === 'optional' || d.type === 'nullable') optional = true
    else if (d.type === 'default' || d.type === 'prefault') {
      optional = true
      if (dflt === undefined) dflt = typeof d['defaultValue'] === 'function' ? (d['defaultValue'] as () => unknown)() : d['defaultValue']
    } else if (d.type === 'pipe') {
      s = d['in'] as Schema
      continue
    } else return { inner: s, optional, ...(dflt !== undefined ? { default: dflt } : {}) }
    s = d['innerType'] as Schema
  }
}

/** A leaf's type and constraints in words, from zod's JSON Schema export. */
function describeLeaf(schema: Schema): string {
  let js: Record<string, unknown>
  try {
    js = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>
  } catch {
    return 'value'
  }
  const parts: string[] = []
  if (js['enum']) return (js['enum'] as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(' or ')
  if (js['const'] !== undefined) return `\`${JSON.stringify(js['const'])}\``
  const type = js['type']
  if (type === 'array') {
    const items = js['items'] as Record<string, unknown> | undefined
    const itemSchema = defOf(schema).type === 'array' ? (defOf(schema)['element'] as Schema) : undefined
    parts.push(`array of ${itemSchema ? describeLeaf(itemSchema) : String(items?.['type'] ?? 'value')}`)
    if (js['minItems'] !== undefined) parts.push(`at least ${js['minItems']}`)
    if (js['maxItems'] !== undefined) parts.push(`at most ${js['maxItems']}`)
    return parts.join(', ')
  }
  parts.push(typeof type === 'string' ? type : 'value')
  if (js['exclusiveMinimum'] !== undefined) parts.push(`> ${js['exclusiveMinimum']}`)
  if (js['minimum'] !== undefined && !(type === 'integer' && js['minimum'] === Number.MIN_SAFE_INTEGER)) parts.push(`≥ ${js['minimum']}`)
  if (js['exclusiveMaximum'] !== undefined) parts.push(`< ${js['exclusiveMaximum']}`)
  if (js['maximum'] !== undefined && js['maximum'] !== Number.MAX_SAFE_INTEGER) parts.push(`≤ ${js['maximum']}`)
  if (js['minLength'] !== undefined && js['minLength'] !== 1) parts.push(`length ≥ ${js['minLength']}`)
  if (js['minLength'] === 1) parts.push('non-empty')
  if (js['maxLength'] !== undefined) parts.push(`length ≤ ${js['maxLength']}`)
  if (js['pattern'] !== undefined) parts.push(`matching \`${String(js['pattern'])}\``)
  return parts.join(', ')
}

function formatDefault(value: unknown): string {
  if (value === undefined) return ''
  const text = JSON.stringify(value)
  return text === '{}' ? '' : `\`${text}\``
}

/** One row per field, depth first; objects and unions of objects open their fields below them. */
function rows(schema: Schema, prefix: string, docs: Map<string, Map<string, string>>, out: Row[]): void {
  const d = defOf(unwrap(schema).inner)
  if (d.type !== 'object') return
  const shape = d['shape'] as Record<string, Schema>
  const keys = Object.keys(shape).sort().join(',')
  const tag = shape['name'] !== undefined ? defOf(shape['name']) : undefined
  const tagged = tag?.type === 'literal' ? docs.get(`${keys}|name=${String((tag['values'] as unknown[])[0])}`) : undefined
  const comments = tagged ?? docs.get(keys) ?? new Map<string, string>()
  for (const [key, field] of Object.entries(shape)) {
    const name = prefix ? `${prefix}.${key}` : key
    const { inner, optional, default: dflt } = unwrap(field)
    const fd = defOf(inner)
    const alternatives = fd.type === 'union' ? (fd['options'] as Schema[]).filter((o) => defOf(unwrap(o).inner).type === 'object') : []
    const element = fd.type === 'array' ? unwrap(fd['element'] as Schema).inner : undefined
    const elementForms = element && defOf(element).type === 'union' ? (defOf(element)['options'] as Schema[]).filter((o) => defOf(unwrap(o).inner).type === 'object') : []
    const type =
      fd.type === 'object'
        ? 'object'
        : alternatives.length > 0
          ? `one of ${alternatives.length} objects`
          : element && defOf(element).type === 'object'
            ? 'array of objects'
            : elementForms.length > 0
              ? `array of objects, each one of ${elementForms.length} forms`
              : describeLeaf(inner)
    out.push({ field: name, type, required: !optional, default: formatDefault(dflt), description: comments.get(key) ?? '' })
    const forms = (list: readonly Schema[], at: string): void =>
      list.forEach((alt, i) => {
        const sub: Row[] = []
        rows(alt, at, docs, sub)
        for (const r of sub) out.push({ ...r, field: `${r.field} *(form ${i + 1})*` })
      })
    if (fd.type === 'object') rows(inner, name, docs, out)
    else if (element && defOf(element).type === 'object') rows(element, `${name}[]`, docs, out)
    else if (elementForms.length > 0) forms(elementForms, `${name}[]`)
    else forms(alternatives, name)
  }
}

function table(rowsOf: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  return [
    '| field | type | required | default | description |',
    '|---|---|---|---|---|',
    ...rowsOf.map(
      (r) =>
        `| \`${r.field.replace(/ \*\(form (\d+)\)\*$/, '')}\`${/\(form (\d+)\)/.exec(r.field) ? ` (form ${/\(form (\d+)\)/.exec(r.field)![1]})` : ''} | ${esc(r.type)} | ${r.required ? 'yes' : ''} | ${esc(r.default)} | ${esc(r.description)} |`,
    ),
  ].join('\n')
}

export function renderConfigReference(): string {
  const docs = docCommentsByShape()
  const hub: Row[] = []
  rows(HubConfigSchema, '', docs, hub)
  const site: Row[] = []
  rows(SiteConfigSchema, '', docs, site)
  return [
    '# Configuration reference',
    '',
    '<!-- Generated by `npx tsx docs/tools/config-reference.ts` from the zod schemas and their doc comments; do not edit by hand. -->',
    '',
    'Every field `hub.json` and `site.json` accept, generated from the schemas that validate them',
    '(`coordinator/config.ts`, `site-agent/config.ts`, `models/core/study-spec.ts`, `site-agent/policy.ts`).',
    "Unknown fields are errors. Relative paths resolve against the config file's folder. A field",
    'marked "(form N)" belongs to one of several alternative shapes of its object.',
    '',
    '## hub.json (`fedlineage coordinator --config hub.json`)',
    '',
    table(hub),
    '',
    '## site.json (`fedlineage site --config site.json`)',
    '',
    table(site),
    '',
  ].join('\n')
}

/** Fields without a doc comment, for the test that keeps every field explained. */
export function undocumentedFields(): string[] {
  const docs = docCommentsByShape()
  const all: Row[] = []
  rows(HubConfigSchema, 'hub', docs, all)
  rows(SiteConfigSchema, 'site', docs, all)
  return all.filter((r) => r.description === '').map((r) => r.field)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const text = renderConfigReference()
  if (process.argv.includes('--check')) {
    const current = (() => {
      try {
        return readFileSync(CONFIG_REFERENCE_FILE, 'utf8')
      } catch {
        return ''
      }
    })()
    if (current !== text) {
      process.stderr.write('docs/config.md is stale: run `npx tsx docs/tools/config-reference.ts`\n')
      process.exit(1)
    }
  } else {
    writeFileSync(CONFIG_REFERENCE_FILE, text)
    process.stdout.write(`wrote ${path.relative(ROOT, CONFIG_REFERENCE_FILE)}\n`)
  }
}
