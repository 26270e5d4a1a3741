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
import { decodeCanonical, encodeCanonical, fromHex, sha256, signerFromSeed, toHex, type CanonicalValue } from '../../../ledger/core/index.ts'
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
import { STATEMENT_SIGNING_CONTEXT, decodeStatement, signStatement, statementHash, statementSigningMessage, verifyStatement, type Statement, type StatementType } from '../../../protocol/index.ts'

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
  loggedAsRejection: boolean
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
    const rows = new Map([...doc.matchAll(/^\| `(COORD_[A-Z_]+)` \| `([A-Z_]+)` \((\d+)\)/gm)].map((m) => [m[1]!, { status: m[2]!, statusCode: Number(m[3]) }]))
    // Assert
    for (const v of codes.vectors.filter((x) => x.rpcs.length > 0)) expect(rows.get(v.code), v.code).toEqual(v.want)
    for (const code of rows.keys())
      expect(
        codes.vectors.some((v) => v.code === code),
        code,
      ).toBe(true)
  })
})
