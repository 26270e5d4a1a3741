/**
 * The protocol test vectors (test/vectors/protocol/*.json, written by
 * test/vectors/protocol/generate.ts) against the code: what PROTOCOL.md
 * promises another implementation is what this one does. A failure here
 * means the wire format changed: if that is intended, run the generator,
 * review the JSON diff and update PROTOCOL.md.
 */
import { readFileSync } from 'node:fs'
import { status as grpcStatus } from '@grpc/grpc-js'
import { describe, expect, it } from 'vitest'
import * as coordinator from '../../../coordinator/index.ts'
import * as protocol from '../../../protocol/index.ts'
import { auditLog } from '../../../auditor/index.ts'
import {
  GENESIS_PREV_HASH,
  RFC6962_SHA256,
  checkpointVerifierKey,
  cosignCheckpoint,
  cosignatureLine,
  formatCheckpointBody,
  logOrigin,
  decodeCanonical,
  decodeEntry,
  decodeSignedCheckpoint,
  encodeCanonical,
  entryHash,
  entrySigningMessage,
  fromHex,
  hashLeaf,
  openCheckpoint,
  readCheckpoint,
  rootOf,
  sha256,
  signCheckpoint,
  signerFromSeed,
  toHex,
  verifyCosignature,
  verifyEntry,
  type AppendedEntry,
  type CanonicalValue,
} from '../../../ledger/core/index.ts'
import {
  DataSchemaSchema,
  computeDelta,
  decodeWeights,
  encodeWeights,
  encodedSize,
  hashBytes,
  initialWeights,
  inputNames,
  inputWidth,
  modelShapes,
  parameterCount,
  type ModelSpec,
} from '../../../models/core/index.ts'
import {
  STATEMENT_SIGNING_CONTEXT,
  StudyState,
  decodeInstructions,
  decodeStatement,
  encodeInstructions,
  fitTask,
  readLineageRecord,
  signStatement,
  statementHash,
  statementSigningMessage,
  step,
  verifyStatement,
  type Decision,
  type DeciderInput,
  type SignedStatement,
  type Statement,
  type StatementType,
} from '../../../protocol/index.ts'
import { memorySource } from '../../helpers/audit.ts'

const readVectors = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../../vectors/protocol/${name}`, import.meta.url), 'utf8')) as T

/** Typed JSON (the files' `notation`) to a canonical value. */
function fromJson(v: unknown): CanonicalValue {
  if (Array.isArray(v)) return v.map(fromJson)
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    if (typeof o['$bytes'] === 'string' && Object.keys(o).length === 1) return fromHex(o['$bytes'])
    if (typeof o['$int'] === 'string' && Object.keys(o).length === 1) return BigInt(o['$int'])
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromJson(x)]))
  }
  return v as CanonicalValue
}

const flipBit = (bytes: Uint8Array, index: number): Uint8Array => {
  const out = bytes.slice()
  out[index]! ^= 0x01
  return out
}

/** The signature with S replaced by S + L: the same point equation, a non-canonical encoding that strict verification refuses. */
function withScalarPlusL(signature: Uint8Array): Uint8Array {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n
  let s = 0n
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(signature[32 + i]!)
  s += L
  const out = signature.slice()
  for (let i = 0; i < 32; i++) out[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn)
  return out
}

// ---------------------------------------------------------------------------

interface StatementVector {
  desc: string
  type: StatementType
  signedBy: string
  value: unknown
  want: { body: string; sha256: string; signingMessage: string; signature: string }
}
const statements = readVectors<{ key: { seed: string; publicKey: string }; context: string; vectors: StatementVector[] }>('statements.json')

describe('statements.json', () => {
  const seed = fromHex(statements.key.seed)
  const signer = signerFromSeed(seed)

  it('uses the published test key: seed 32 × 0x01 and its public key', () => {
    // Assert
    expect(seed).toEqual(new Uint8Array(32).fill(0x01))
    expect(toHex(signer.publicKey)).toBe(statements.key.publicKey)
    expect(statements.context).toBe(STATEMENT_SIGNING_CONTEXT)
  })

  it.each(statements.vectors)('$desc', (v) => {
    // Prepare
    const value = fromJson(v.value)
    const signature = fromHex(v.want.signature)
    // Execute
    const body = encodeCanonical(value)
    const parsed = decodeStatement(v.type, body)
    const resigned = signStatement(signer, parsed as Statement)
    // Assert
    expect(toHex(body)).toBe(v.want.body)
    expect(toHex(encodeCanonical(parsed as unknown as CanonicalValue))).toBe(v.want.body)
    expect(toHex(statementHash({ body, signature }))).toBe(v.want.sha256)
    expect(toHex(statementSigningMessage(body))).toBe(v.want.signingMessage)
    expect(toHex(resigned.body)).toBe(v.want.body)
    expect(toHex(resigned.signature)).toBe(v.want.signature)
    expect(verifyStatement(signer.publicKey, { body, signature })).toBe(true)
    expect(verifyStatement(signer.publicKey, { body, signature: flipBit(signature, 0) })).toBe(false)
    expect(verifyStatement(signer.publicKey, { body, signature: flipBit(signature, 40) })).toBe(false)
    expect(verifyStatement(signer.publicKey, { body: flipBit(body, body.length - 1), signature })).toBe(false)
    expect(verifyStatement(signer.publicKey, { body, signature: withScalarPlusL(signature) })).toBe(false)
  })
})

// ---------------------------------------------------------------------------

interface CborVector {
  desc: string
  value: unknown
  want: string
}

describe('cbor.json', () => {
  it.each(readVectors<{ vectors: CborVector[] }>('cbor.json').vectors)('$desc', (v) => {
    // Prepare
    const value = fromJson(v.value)
    // Execute
    const bytes = encodeCanonical(value)
    const decoded = decodeCanonical(fromHex(v.want))
    // Assert
    expect(toHex(bytes)).toBe(v.want)
    expect(decoded).toEqual(value)
  })
})

// ---------------------------------------------------------------------------

interface TensorJson {
  name: string
  shape: number[]
  values: number[]
}
interface WeightsVector {
  desc: string
  init?: { model: ModelSpec; inputWidth: number; seed: number }
  delta?: { model: ModelSpec; inputWidth: number; localSeed: number; baseSeed: number }
  want: { tensors: TensorJson[]; bytes: string; size: number; sha256: string }
}

describe('weights.json', () => {
  it.each(readVectors<{ vectors: WeightsVector[] }>('weights.json').vectors)('$desc', (v) => {
    // Prepare
    const spec = (v.init ?? v.delta)!
    const layout = modelShapes(spec.model, spec.inputWidth)
    const bytes = fromHex(v.want.bytes)
    // Execute
    const decoded = decodeWeights(bytes, layout)
    const made = v.init
      ? initialWeights(v.init.model, v.init.inputWidth, v.init.seed)
      : computeDelta(initialWeights(v.delta!.model, v.delta!.inputWidth, v.delta!.localSeed), initialWeights(v.delta!.model, v.delta!.inputWidth, v.delta!.baseSeed))
    // Assert
    expect(decoded.tensors.map((t) => ({ name: t.name, shape: [...t.shape], values: Array.from(t.values) }))).toEqual(v.want.tensors)
    expect(toHex(encodeWeights(decoded))).toBe(v.want.bytes)
    expect(toHex(encodeWeights(made))).toBe(v.want.bytes)
    expect(toHex(hashBytes(bytes))).toBe(v.want.sha256)
    expect(toHex(sha256(bytes))).toBe(v.want.sha256)
    expect(bytes.length).toBe(v.want.size)
    expect(encodedSize(layout)).toBe(v.want.size)
  })
})

// ---------------------------------------------------------------------------

interface LayoutVector {
  desc: string
  model: ModelSpec
  data: { features: unknown[] }
  want: { inputNames: string[]; inputWidth: number; tensors: { name: string; shape: number[] }[]; parameters: number; size: number }
}

describe('layouts.json', () => {
  it.each(readVectors<{ vectors: LayoutVector[] }>('layouts.json').vectors)('$desc', (v) => {
    // Prepare
    const data = DataSchemaSchema.parse({ features: v.data.features, label: { column: 'label', positive: ['1'] } })
    // Execute
    const width = inputWidth(data)
    const shapes = modelShapes(v.model, width)
    // Assert
    expect(width).toBe(v.want.inputWidth)
    expect(inputNames(data)).toEqual(v.want.inputNames)
    expect(shapes.map((s) => ({ name: s.name, shape: [...s.shape] }))).toEqual(v.want.tensors)
    expect(parameterCount(shapes)).toBe(v.want.parameters)
    expect(encodedSize(shapes)).toBe(v.want.size)
  })
})

// ---------------------------------------------------------------------------

interface CodeVector {
  desc: string
  code: string
  rpcs: string[]
  logged: string[]
  want: { status: string; statusCode: number }
}
const codes = readVectors<{ trailer: string; vectors: CodeVector[] }>('error-codes.json')

type ErrorClass = new (message: string) => protocol.ProtocolError

/** Every error class with a COORD_ code (a refusal a coordinator answers with) that the coordinator's and the protocol's surfaces export, by code. */
function errorClasses(): Map<string, ErrorClass> {
  const out = new Map<string, ErrorClass>()
  for (const value of [...Object.values(coordinator), ...Object.values(protocol)]) {
    const code = typeof value === 'function' ? (value as unknown as { code?: unknown }).code : undefined
    if (typeof code === 'string' && code.startsWith('COORD_') && (value as { prototype: unknown }).prototype instanceof protocol.ProtocolError) out.set(code, value as unknown as ErrorClass)
  }
  return out
}

describe('error-codes.json', () => {
  const classes = errorClasses()

  it('names the trailer the coordinator sets', () => {
    // Assert
    expect(codes.trailer).toBe(coordinator.ERROR_CODE_METADATA_KEY)
  })

  it('lists every code the coordinator exports, and COORD_INTERNAL', () => {
    // Assert
    expect(codes.vectors.map((v) => v.code).sort()).toEqual([...classes.keys(), 'COORD_INTERNAL'].sort())
  })

  it.each(codes.vectors)('$desc', (v) => {
    // Prepare
    const Cls = classes.get(v.code)
    const err = Cls ? new Cls('vector') : new Error('any other error')
    // Execute
    const e = coordinator.toServiceError(err)
    // Assert
    expect(e.code).toBe(v.want.statusCode)
    expect(grpcStatus[e.code!]).toBe(v.want.status)
    expect(e.metadata?.get(codes.trailer)).toEqual([v.code])
    expect(e.details?.startsWith(`${v.code}: `)).toBe(true)
  })

  it('agrees with the error table of PROTOCOL.md', () => {
    // Prepare
    const doc = readFileSync(new URL('../../../PROTOCOL.md', import.meta.url), 'utf8')
    const rows = new Map(
      [...doc.matchAll(/^\| `(COORD_[A-Z_]+)` \| `([A-Z_]+)` \((\d+)\) \| ([^|]+) \|/gm)].map((m) => [m[1]!, { status: m[2]!, statusCode: Number(m[3]), rpcs: m[4]!.trim().split(/,\s*/).sort() }]),
    )
    // Assert
    for (const v of codes.vectors.filter((x) => x.rpcs.length > 0)) expect(rows.get(v.code), v.code).toEqual({ ...v.want, rpcs: [...v.rpcs].sort() })
    for (const code of rows.keys())
      expect(
        codes.vectors.some((v) => v.code === code),
        code,
      ).toBe(true)
  })
})

// ---------------------------------------------------------------------------

interface LogEntryVector {
  seq: number
  kind: string
  value: unknown
  want: { bytes: string; sha256: string; leaf: string; unsigned: string; signingMessage: string }
}
interface FitTaskVector {
  site: string
  round: number
  baseModelHash: string
  seed: number
  deadlineMs: number
  deltaSizeBytes: number
  baseRound: number
  openedMs: number
  instructions: unknown
  config: string
}
interface LogVectors {
  key: { seed: string; publicKey: string }
  entries: LogEntryVector[]
  blobs: { sha256: string; bytes: string }[]
  fitTasks: FitTaskVector[]
  root: string
  checkpoint: { origin: string; size: number; want: { body: string; verifierKey: string; note: string } }
  cosignature: { timestamp: number; want: { message: string; signature: string; line: string } }
}
const log = readVectors<LogVectors>('log.json')
const logSigner = signerFromSeed(fromHex(log.key.seed))
const logEntries = (): AppendedEntry[] =>
  log.entries.map((e) => {
    const bytes = fromHex(e.want.bytes)
    return { entry: decodeEntry(bytes), bytes, hash: entryHash(bytes) }
  })

/** The study state folded from the first `count` entries of log.json. */
function foldLog(count = log.entries.length): StudyState {
  const state = new StudyState()
  for (const { entry } of logEntries().slice(0, count)) state.apply(readLineageRecord({ seq: entry.seq, kind: entry.kind, timeMs: entry.timeMs, body: entry.body }))
  return state
}

describe('log.json', () => {
  it.each(log.entries)('entry $seq ($kind): bytes, hash, leaf, signing message, chain and signature', (v) => {
    // Prepare
    const value = fromJson(v.value) as Record<string, CanonicalValue>
    const { sig: _sig, ...unsigned } = value
    const prev = v.seq === 0 ? GENESIS_PREV_HASH : fromHex(log.entries[v.seq - 1]!.want.sha256)
    // Execute
    const bytes = encodeCanonical(value)
    const entry = decodeEntry(bytes)
    // Assert
    expect(toHex(bytes)).toBe(v.want.bytes)
    expect(toHex(entryHash(bytes))).toBe(v.want.sha256)
    expect(toHex(hashLeaf(bytes))).toBe(v.want.leaf)
    expect(toHex(encodeCanonical(unsigned))).toBe(v.want.unsigned)
    expect(toHex(entrySigningMessage(entry))).toBe(v.want.signingMessage)
    expect(entry.kind).toBe(v.kind)
    expect(toHex(verifyEntry(entry, bytes, { seq: v.seq, prevHash: prev, trustedAuthors: [logSigner.publicKey] }))).toBe(v.want.sha256)
  })

  it('is the log the protocol decider writes: the audit re-decides every entry byte for byte, against the checkpoint', async () => {
    // Prepare
    const source = {
      ...memorySource(
        logEntries(),
        log.blobs.map((b) => fromHex(b.bytes)),
      ),
      latestCheckpoint: async () => decodeSignedCheckpoint(new TextEncoder().encode(log.checkpoint.want.note)),
    }
    // Execute
    const report = await auditLog(source, { trustedCoordinatorKey: logSigner.publicKey })
    // Assert
    expect(report.failure).toBeUndefined()
    expect(report.completed).toBe(true)
    expect(report.rounds.map((r) => r.rederived)).toEqual([true])
    expect(report.entries).toBe(log.entries.length)
  })

  it('names every blob by its SHA-256', () => {
    // Assert
    for (const b of log.blobs) expect(toHex(sha256(fromHex(b.bytes)))).toBe(b.sha256)
  })

  it.each(log.fitTasks)('FitTask of $site: the logged round-opened and its plan, config = canonical CBOR of the planned instructions', (v) => {
    // Prepare
    const opened = log.entries.find((e) => e.kind === 'round-opened')!
    const state = foldLog(opened.seq + 1)
    const record = state.rounds.get(v.round)!
    // Execute
    const task = fitTask(foldLog(opened.seq), record, v.site)
    // Assert
    expect(task).toMatchObject({ kind: 'fit', round: v.round, baseRound: v.baseRound, seed: v.seed, deadlineMs: v.deadlineMs, deltaSizeBytes: v.deltaSizeBytes, openedMs: v.openedMs })
    expect(toHex(record.base)).toBe(v.baseModelHash)
    expect(record.openedMs).toBe(v.openedMs)
    expect(toHex(encodeInstructions(record.plan.get(v.site)!))).toBe(v.config)
    expect(toHex(encodeInstructions(task!.kind === 'fit' ? task!.instructions : {}))).toBe(v.config)
    expect(decodeInstructions(fromHex(v.config))).toEqual(fromJson(v.instructions))
  })

  it('reads an empty FitTask.config as no instructions, the map {} (a0)', () => {
    // Assert
    expect(decodeInstructions(new Uint8Array())).toEqual({})
    expect(toHex(encodeInstructions({}))).toBe('a0')
  })

  it('checkpoint: a C2SP signed note of the RFC 6962 root, signed by the coordinator; a cosignature/v1 line by a witness', () => {
    // Prepare
    const leaves = log.entries.map((e) => fromHex(e.want.leaf))
    const wire = decodeSignedCheckpoint(new TextEncoder().encode(log.checkpoint.want.note))
    const cp = openCheckpoint(wire, logSigner.publicKey, logOrigin('heart-demo'))
    // Execute
    const resigned = signCheckpoint(logSigner, readCheckpoint(wire))
    const cosig = cosignCheckpoint(logSigner, wire, log.cosignature.timestamp)
    // Assert
    expect(toHex(rootOf(RFC6962_SHA256, leaves))).toBe(log.root)
    expect(toHex(cp.root)).toBe(log.root)
    expect(cp.size).toBe(log.entries.length)
    expect(formatCheckpointBody(cp)).toBe(log.checkpoint.want.body)
    expect(resigned.note).toBe(log.checkpoint.want.note)
    expect(checkpointVerifierKey(cp.origin, logSigner.publicKey)).toBe(log.checkpoint.want.verifierKey)
    expect(toHex(cosig.signature)).toBe(log.cosignature.want.signature)
    expect(cosignatureLine(cosig)).toBe(log.cosignature.want.line)
    expect(verifyCosignature(wire, cosig)).toBe(true)
  })
})

// ---------------------------------------------------------------------------

describe('error-codes.json: which refusals of a site statement are logged', () => {
  const other = signerFromSeed(new Uint8Array(32).fill(0x02))
  const firstEvaluation = log.entries.findIndex((e) => e.kind === 'evaluation-reported' && (fromJson(e.value) as { body: { round: number } }).body.round === 1)
  /** After round 1 committed and was rewarded, before its evaluations: the study still takes entries. */
  const state = foldLog(firstEvaluation)
  const model = state.modelOfRound(1)!
  const evaluation = (patch: Partial<Statement & { t: 'evaluation' }> = {}, by = logSigner): SignedStatement =>
    signStatement(by, { t: 'evaluation', study: 'heart-demo', round: 1, site: 'site-a', model, examples: 30, metrics: { loss: 0.5 }, time: 1_700_000_100_000, ...patch } as Statement)
  const patientRewards = (patch: Record<string, unknown> = {}): SignedStatement =>
    signStatement(logSigner, { t: 'patient-rewards', study: 'heart-demo', round: 1, site: 'site-a', amount: 0n, count: 0, root: new Uint8Array(32), time: 1_700_000_100_000, ...patch } as Statement)
  const loggedReport = (): SignedStatement => {
    const body = (fromJson(log.entries.find((e) => e.kind === 'evaluation-reported')!.value) as { body: { report: { body: Uint8Array; sig: Uint8Array } } }).body.report
    return { body: body.body, signature: body.sig }
  }
  const cases: [string, string, string, () => DeciderInput][] = [
    ['an evaluation of another study', 'ReportEvaluation', 'COORD_STUDY_MISMATCH', () => ({ kind: 'evaluation', report: evaluation({ study: 'other-study' }) })],
    ['an evaluation of a round with no model', 'ReportEvaluation', 'COORD_WRONG_ROUND', () => ({ kind: 'evaluation', report: evaluation({ round: 2 }) })],
    ["an evaluation of another model than the round's", 'ReportEvaluation', 'COORD_WRONG_BASE_MODEL', () => ({ kind: 'evaluation', report: evaluation({ model: new Uint8Array(32) }) })],
    ['a second evaluation of a round', 'ReportEvaluation', 'COORD_DUPLICATE_UPDATE', () => ({ kind: 'evaluation', report: evaluation({ round: 0, model: state.modelOfRound(0)! }) })],
    ['an evaluation from an unknown site', 'ReportEvaluation', 'COORD_UNKNOWN_SITE', () => ({ kind: 'evaluation', report: evaluation({ site: 'site-z' }) })],
    ['an evaluation under another key', 'ReportEvaluation', 'COORD_BAD_SIGNATURE', () => ({ kind: 'evaluation', report: evaluation({}, other) })],
    ['evaluation bytes already taken', 'ReportEvaluation', 'COORD_UPDATE_REPLAYED', () => ({ kind: 'evaluation', report: loggedReport() })],
    [
      'an evaluation that is not a statement',
      'ReportEvaluation',
      'COORD_STATEMENT_INVALID',
      () => ({ kind: 'evaluation', report: { body: encodeCanonical({ t: 'evaluation' }), signature: new Uint8Array(64) } }),
    ],
    ['patient rewards of another study', 'SubmitPatientRewards', 'COORD_STUDY_MISMATCH', () => ({ kind: 'patient-rewards', statement: patientRewards({ study: 'other-study' }) })],
    ['patient rewards for a round the site trained on without consent', 'SubmitPatientRewards', 'COORD_PATIENT_REWARDS_INVALID', () => ({ kind: 'patient-rewards', statement: patientRewards() })],
  ]

  it.each(cases)('%s: %s refuses with %s, logged as the vector says', (_desc, rpc, code, input) => {
    // Prepare
    const vector = codes.vectors.find((v) => v.code === code)!
    // Execute
    const decision = step(state, input(), 1_700_000_100_000) as Decision
    // Assert
    expect(decision.refusal?.code).toBe(code)
    expect(vector.rpcs).toContain(rpc)
    expect(decision.entries.map((e) => e.kind)).toEqual(vector.logged.includes(rpc) ? ['statement-rejected'] : [])
  })

  it('logs no refusal once the study is complete (COORD_ROUND_STATE when nothing else is wrong)', () => {
    // Prepare
    const done = foldLog()
    // Execute
    const decision = step(done, { kind: 'patient-rewards', statement: patientRewards() }, 1_700_000_200_000) as Decision
    // Assert
    expect(done.completed).toBe(true)
    expect(decision.entries).toEqual([])
    expect(decision.refusal?.code).toBe('COORD_PATIENT_REWARDS_INVALID')
  })
})
