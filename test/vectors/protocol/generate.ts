/**
 * The only writer of test/vectors/protocol/*.json, the test vectors of
 * PROTOCOL.md. Run from the repo root:
 *
 *   npx tsx test/vectors/protocol/generate.ts
 *
 * Deterministic: the same code writes the same bytes. Unlike the Merkle
 * vectors (../generate.ts), these come from the reference implementation
 * itself, through its public surfaces: they pin what it puts on the wire, so
 * that a site written in another language can be checked against them
 * (check.py does that in Python) and so that a change of the wire format
 * shows up as a diff of these files. Never edit the JSON by hand: change this
 * generator (or the code) and run it again.
 *
 * Every signature is made with the published test key whose Ed25519 seed is
 * 32 bytes of 0x01 (TEST_SEED below). It is public: never enrol it anywhere.
 *
 * Values are written as typed JSON (see VALUE_NOTATION): a JSON string is a
 * CBOR text string, an integral JSON number a CBOR integer, any other JSON
 * number a CBOR float, {"$bytes": hex} a byte string, {"$int": decimal} an
 * integer outside ±(2^53 − 1).
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { status as grpcStatus } from '@grpc/grpc-js'
import * as coordinator from '../../../coordinator/index.ts'
import * as protocol from '../../../protocol/index.ts'
import {
  ENTRY_SIGNING_CONTEXT,
  GENESIS_PREV_HASH,
  RFC6962_SHA256,
  cosignCheckpoint,
  decodeCanonical,
  encodeCanonical,
  checkpointVerifierKey,
  cosignatureLine,
  entrySigningMessage,
  formatCheckpointBody,
  logOrigin,
  hashLeaf,
  readAll,
  rootOf,
  sha256,
  signCheckpoint,
  signEntry,
  signerFromSeed,
  toHex,
  type AppendedEntry,
  type CanonicalValue,
} from '../../../ledger/core/index.ts'
import {
  DataSchemaSchema,
  StudySpecSchema,
  applyDelta,
  computeDelta,
  encodeWeights,
  encodedSize,
  hashBytes,
  initialWeights,
  inputNames,
  inputWidth,
  modelShapes,
  parameterCount,
  epsilonOf,
  type ModelSpec,
  type Weights,
} from '../../../models/core/index.ts'
import {
  STATEMENT_SIGNING_CONTEXT,
  StudyState,
  consentLeafOf,
  consentTreeOf,
  createStrategy,
  encodeConsentClaim,
  encodeDpSgdClaim,
  encodeInstructions,
  needsBlobs,
  pseudonymOf,
  proveConsentNonInclusion,
  readLineageRecord,
  roundSeed,
  signConsent,
  signStatement,
  statementSigningMessage,
  step,
  type ConsentClaim,
  type DeciderInput,
  type SiteTask,
  type Statement,
} from '../../../protocol/index.ts'

// ---------------------------------------------------------------------------
// Notation

const COMMENT = 'Written by test/vectors/protocol/generate.ts (npx tsx test/vectors/protocol/generate.ts); never edit by hand. See PROTOCOL.md.'

const VALUE_NOTATION =
  'Typed JSON: a JSON string is a CBOR text string; an integral JSON number a CBOR integer; any other JSON number a CBOR float; ' +
  '{"$bytes": hex} a byte string; {"$int": decimal} an integer outside ±(2^53 − 1); arrays and objects are CBOR arrays and maps (text keys).'

/** A canonical value as typed JSON (VALUE_NOTATION). */
function toJson(value: CanonicalValue): unknown {
  if (value instanceof Uint8Array) return { $bytes: toHex(value) }
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) && BigInt(Number(value)) === value ? Number(value) : { $int: value.toString() }
  if (Array.isArray(value)) return value.map((v) => toJson(v as CanonicalValue))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v as CanonicalValue)]))
  return value
}

/** How the canonical encoder writes a non-integral number, read off the encoder itself: "float64" (always 8 bytes) or "shortest". */
function floatEncoding(): 'float64' | 'shortest' {
  return encodeCanonical(0.5).length === 9 ? 'float64' : 'shortest'
}

// ---------------------------------------------------------------------------
// Keys and fixed inputs

/** The published test seed: 32 bytes of 0x01. */
const TEST_SEED = new Uint8Array(32).fill(0x01)
const signer = signerFromSeed(TEST_SEED)

const STUDY = 'heart-demo'
const SITE = 'site-a'
/** The second site of the log vectors. */
const SITE_B = 'site-b'
/** 2023-11-14T22:13:20Z, a round's opening time. */
const OPENED_MS = 1_700_000_000_000
const nonce = (first: number) => Uint8Array.from({ length: 16 }, (_, i) => (first + i) & 0xff)

/** The data schema of the layout vectors: 1 numeric + 4 categories with the first dropped + 1 numeric = width 5. */
const DATA_SCHEMA = DataSchemaSchema.parse({
  features: [
    { name: 'age', type: 'numeric' },
    { name: 'cp', type: 'categorical', categories: ['1', '2', '3', '4'], dropFirst: true },
    { name: 'chol', type: 'numeric' },
  ],
  label: { column: 'num', positive: ['1', '2', '3', '4'] },
})

const LOGREG: ModelSpec = { kind: 'logreg' }
const MLP: ModelSpec = { kind: 'mlp', hidden: [4, 2], activation: 'relu' }

/** Tiny input width of the weights blobs. */
const BLOB_WIDTH = 3

// ---------------------------------------------------------------------------
// Weights

interface Blob {
  readonly desc: string
  readonly weights: Weights
  readonly source: Record<string, unknown>
}

function blobs(): Blob[] {
  const genesis = initialWeights(LOGREG, BLOB_WIDTH, 0)
  const local = initialWeights(LOGREG, BLOB_WIDTH, 7)
  return [
    { desc: 'logreg initial model, input width 3, seed 0', weights: genesis, source: { init: { model: LOGREG, inputWidth: BLOB_WIDTH, seed: 0 } } },
    { desc: 'mlp [4, 2] relu initial model, input width 3, seed 42', weights: initialWeights(MLP, BLOB_WIDTH, 42), source: { init: { model: MLP, inputWidth: BLOB_WIDTH, seed: 42 } } },
    {
      desc: 'logreg delta: (initial model of seed 7) − (initial model of seed 0), input width 3',
      weights: computeDelta(local, genesis),
      source: { delta: { model: LOGREG, inputWidth: BLOB_WIDTH, localSeed: 7, baseSeed: 0 } },
    },
  ]
}

function weightsVectors(): unknown[] {
  return blobs().map((b) => {
    const bytes = encodeWeights(b.weights)
    return {
      desc: b.desc,
      ...b.source,
      want: {
        tensors: b.weights.tensors.map((t) => ({ name: t.name, shape: [...t.shape], values: Array.from(t.values) })),
        bytes: toHex(bytes),
        size: bytes.length,
        sha256: toHex(hashBytes(bytes)),
      },
    }
  })
}

function layoutVectors(): unknown[] {
  const width = inputWidth(DATA_SCHEMA)
  const models: { desc: string; model: ModelSpec }[] = [
    { desc: 'logreg', model: LOGREG },
    { desc: 'mlp, hidden [4, 2] (relu)', model: MLP },
    { desc: 'mlp, hidden [8] (tanh: same layout as relu)', model: { kind: 'mlp', hidden: [8], activation: 'tanh' } },
  ]
  return models.map(({ desc, model }) => {
    const shapes = modelShapes(model, width)
    return {
      desc: `${desc}, input width ${width} from the data schema`,
      model,
      data: { features: DATA_SCHEMA.features },
      want: {
        inputNames: inputNames(DATA_SCHEMA),
        inputWidth: width,
        tensors: shapes.map((s) => ({ name: s.name, shape: [...s.shape] })),
        parameters: parameterCount(shapes),
        size: encodedSize(shapes),
      },
    }
  })
}

// ---------------------------------------------------------------------------
// Statements

/** A real consent claim: three consented patients in the tree, a fourth revoked and proven absent. */
function consentClaim(): ConsentClaim {
  const siteSecret = new Uint8Array(16).fill(0x02)
  const receipt = (patient: string) =>
    signConsent(signer, {
      t: 'consent',
      pseudonym: pseudonymOf(siteSecret, patient),
      study: STUDY,
      purposes: ['HRESCH'],
      validFrom: OPENED_MS - 86_400_000,
      validUntil: null,
      signer: signer.publicKey,
    })
  const tree = consentTreeOf(['patient-1', 'patient-2', 'patient-3'].map((p) => consentLeafOf(receipt(p))))
  const revoked = pseudonymOf(siteSecret, 'patient-4')
  return {
    at: OPENED_MS,
    root: tree.root,
    count: tree.count,
    excluded: { noConsent: 1, expired: 0, notYetValid: 0, revoked: 1 },
    revoked: [{ pseudonym: revoked, time: OPENED_MS - 3_600_000 }],
    nonInclusion: [proveConsentNonInclusion(tree, revoked)],
  }
}

function statements(): { desc: string; signedBy: string; statement: Statement }[] {
  const [genesis, , delta] = blobs()
  const base = hashBytes(encodeWeights(genesis!.weights))
  const deltaBytes = encodeWeights(delta!.weights)
  const model = hashBytes(encodeWeights(applyDelta(genesis!.weights, delta!.weights)))
  const update = {
    t: 'update',
    study: STUDY,
    round: 1,
    site: SITE,
    base,
    delta: hashBytes(deltaBytes),
    size: deltaBytes.length,
    examples: 120,
    metrics: { trainLoss: 0.4816237591, steps: 40 },
    nonce: nonce(0x30),
    time: OPENED_MS + 5_000,
  } as const
  return [
    { desc: 'hello', signedBy: 'site', statement: { t: 'hello', study: STUDY, site: SITE, time: OPENED_MS - 60_000, nonce: nonce(0x00) } },
    { desc: 'round-start', signedBy: 'research hub', statement: { t: 'round-start', study: STUDY, round: 1, time: OPENED_MS, nonce: nonce(0x10) } },
    { desc: 'update envelope', signedBy: 'site', statement: update },
    {
      desc: 'update envelope with ext.consent (3 patients, 1 revoked and proven absent)',
      signedBy: 'site',
      statement: { ...update, nonce: nonce(0x40), ext: { consent: encodeConsentClaim(consentClaim()) } },
    },
    {
      desc: 'update envelope with ext.dpSgd (patient-level DP-SGD: q 0.05, σ 1.1, C 1, 40 steps, δ 1e-5, the site ε after the round), trainLoss not sent',
      signedBy: 'site',
      statement: {
        ...update,
        nonce: nonce(0x50),
        metrics: { steps: 40 },
        ext: { dpSgd: encodeDpSgdClaim({ q: 0.05, noiseMultiplier: 1.1, clipNorm: 1, steps: 40, delta: 1e-5, epsilon: epsilonOf(0.05, 1.1, 40, 1e-5).epsilon }) },
      },
    },
    {
      desc: 'evaluation (metrics that need float16, float32 and float64)',
      signedBy: 'site',
      statement: { t: 'evaluation', study: STUDY, round: 1, site: SITE, model, examples: 30, metrics: { loss: 0.5279135061, accuracy: 0.75, auc: Math.fround(0.8) }, time: OPENED_MS + 70_000 },
    },
    {
      desc: 'evaluation of the initial model (round 0)',
      signedBy: 'site',
      statement: { t: 'evaluation', study: STUDY, round: 0, site: SITE, model: base, examples: 30, metrics: { loss: 0.5, accuracy: 1 }, time: OPENED_MS - 50_000 },
    },
    {
      desc: 'patient-rewards',
      signedBy: 'site',
      statement: { t: 'patient-rewards', study: STUDY, round: 1, site: SITE, amount: 600n, count: 3, root: sha256(new TextEncoder().encode('allocation tree root')), time: OPENED_MS + 80_000 },
    },
    {
      desc: 'patient-rewards with an amount above 2^53 (a 64-bit CBOR integer)',
      signedBy: 'site',
      statement: {
        t: 'patient-rewards',
        study: STUDY,
        round: 2,
        site: SITE,
        amount: 12_345_678_901_234_567_890n,
        count: 3,
        root: sha256(new TextEncoder().encode('allocation tree root 2')),
        time: OPENED_MS + 90_000,
      },
    },
    {
      desc: 'approval of a spec hash (SHA-256 of the canonical study spec)',
      signedBy: 'site',
      statement: { t: 'approval', study: STUDY, site: SITE, spec: sha256(new TextEncoder().encode('canonical study spec')), time: OPENED_MS - 86_400_000 },
    },
    {
      desc: 'declined fit task (site policy: too few records)',
      signedBy: 'site',
      statement: {
        t: 'declined',
        study: STUDY,
        site: SITE,
        round: 1,
        code: 'SITE_POLICY_MIN_RECORDS',
        reason: 'round 1: 8 training records, the site policy requires at least 10 (policy.minRecordsPerRound)',
        time: OPENED_MS + 1_000,
      },
    },
  ]
}

function statementVectors(): unknown[] {
  return statements().map(({ desc, signedBy, statement }) => {
    const signed = signStatement(signer, statement)
    return {
      desc,
      type: statement.t,
      signedBy,
      value: toJson(statement as unknown as CanonicalValue),
      want: {
        body: toHex(signed.body),
        sha256: toHex(sha256(signed.body)),
        signingMessage: toHex(statementSigningMessage(signed.body)),
        signature: toHex(signed.signature),
      },
    }
  })
}

// ---------------------------------------------------------------------------
// CBOR profile

/** The study of the CBOR profile's study-spec vector and of the log vectors: the layout schema, logistic regression, FedAvg, one round paid by example count. */
function studySpec() {
  return StudySpecSchema.parse({
    id: STUDY,
    model: LOGREG,
    data: { features: DATA_SCHEMA.features, label: DATA_SCHEMA.label },
    training: { learningRate: 0.01, batchSize: 4, localSteps: 40 },
    strategy: { name: 'fedavg' },
    rounds: 1,
    minSites: 2,
    roundDeadlineMs: 60_000,
    rewards: { poolPerRound: '1000', method: 'examples' },
  })
}

/** What the study's strategy tells `site` for `round`: the instructions a FitTask's `config` carries and `round-opened` logs in its plan. */
function plannedInstructions(round: number, site: string) {
  const study = studySpec()
  const plan = createStrategy(study.strategy).configureRound({ round, siteIds: [SITE, SITE_B], training: study.training, state: null, seed: roundSeed(study.seed, round) })
  return plan.sites.find((p) => p.siteId === site)!.instructions
}

function cborVectors(): unknown[] {
  const study = studySpec()
  const values: { desc: string; value: CanonicalValue }[] = [
    { desc: 'integer 0', value: 0 },
    { desc: 'integer 23 (largest in the initial byte)', value: 23 },
    { desc: 'integer 24 (1-byte argument)', value: 24 },
    { desc: 'integer 256 (2-byte argument)', value: 256 },
    { desc: 'integer 65536 (4-byte argument)', value: 65_536 },
    { desc: 'integer 2^32 (8-byte argument)', value: 4_294_967_296 },
    { desc: 'integer 2^53 − 1', value: Number.MAX_SAFE_INTEGER },
    { desc: 'integer 2^64 − 1', value: 18_446_744_073_709_551_615n },
    { desc: 'integer −1', value: -1 },
    { desc: 'integer −25', value: -25 },
    { desc: 'integer −2^64', value: -18_446_744_073_709_551_616n },
    { desc: 'float 0.5 (exact in float16)', value: 0.5 },
    { desc: 'float 100000.5 (exact in float32, not float16)', value: 100_000.5 },
    { desc: 'float fround(0.8) (exact in float32, not float16)', value: Math.fround(0.8) },
    { desc: 'float 0.1 (float64 only)', value: 0.1 },
    { desc: 'float 2^-24 (smallest float16 subnormal)', value: 2 ** -24 },
    { desc: 'float −1e300', value: -1e300 },
    { desc: 'integral number 65504 (an integer, never a float)', value: 65_504 },
    { desc: 'negative zero (the integer 0)', value: -0 },
    { desc: 'text ""', value: '' },
    { desc: 'text "ü" (UTF-8, 2 bytes)', value: 'ü' },
    { desc: 'bytes (3)', value: Uint8Array.of(1, 2, 3) },
    { desc: 'empty bytes', value: new Uint8Array() },
    { desc: 'null, true, false', value: [null, true, false] },
    { desc: 'nested arrays', value: [1, [2, 3], []] },
    { desc: 'map keys: shorter first, then bytewise', value: { b: 1, aa: 3, a: 2, ab: 4, B: 5 } },
    { desc: 'FitTask.config: the FedAvg plan of the study spec below for a site (its training settings)', value: { ...plannedInstructions(1, SITE) } },
    { desc: 'FitTask.config: no instructions (an empty config field means this map)', value: {} },
    { desc: 'HelloResponse.study_spec: a study spec as parsed (defaults filled in)', value: study as unknown as CanonicalValue },
  ]
  return values.map(({ desc, value }) => ({ desc, value: toJson(value), want: toHex(encodeCanonical(value)) }))
}

// ---------------------------------------------------------------------------
// The lineage log

/** The log vectors' clock: the study is created at T0 and each input is one step, one second apart. */
const LOG_T0_MS = OPENED_MS - 10_000

/** What a FitTask carries on the wire (typed JSON), `config` as the bytes the coordinator sends. */
function fitTaskJson(site: string, task: Extract<SiteTask, { kind: 'fit' }>): Record<string, unknown> {
  return {
    site,
    round: task.round,
    baseModelHash: toHex(task.base),
    seed: task.seed,
    deadlineMs: task.deadlineMs,
    deltaSizeBytes: task.deltaSizeBytes,
    baseRound: task.baseRound,
    openedMs: task.openedMs,
    instructions: toJson({ ...task.instructions }),
    config: toHex(encodeInstructions(task.instructions)),
  }
}

/**
 * A whole one-round study, written by the protocol's own decider (`step`) as
 * the coordinator writes it and signed with the test key in every role
 * (coordinator, hub, both sites): creation and enrolments, both sites'
 * baseline evaluations, the hub's round start (with the plan and each site's
 * FitTask), both updates (the second closes the round: commit and rewards),
 * both evaluations of the new model (the second completes the study); then
 * the checkpoint over the whole log and a site's cosignature of it.
 */
function logVectors(): Record<string, unknown> {
  const study = studySpec()
  const width = inputWidth(study.data)
  const genesis = initialWeights(study.model, width, study.seed)
  const state = new StudyState()
  const blobs = new Map<string, Uint8Array>()
  const appended: AppendedEntry[] = []
  const tasks: Record<string, unknown>[] = []
  let timeMs = LOG_T0_MS
  const feed = (input: DeciderInput) => {
    const result = step(state, input, timeMs, { get: (h) => blobs.get(toHex(h)) })
    if (needsBlobs(result)) throw new Error('log vectors: the decider asks for a blob it should have')
    if (result.refusal) throw result.refusal
    for (const blob of result.blobs) {
      const b = readAll(blob)
      blobs.set(toHex(sha256(b)), b)
    }
    for (const e of result.entries) {
      const prev = appended.at(-1)?.hash ?? GENESIS_PREV_HASH
      const a = signEntry(signer, appended.length, prev, { kind: e.kind, timeMs, body: e.body })
      appended.push(a)
      state.apply(readLineageRecord({ seq: a.entry.seq, kind: a.entry.kind, timeMs, body: a.entry.body }))
    }
    for (const t of result.tasks) if (t.task.kind === 'fit') tasks.push(fitTaskJson(t.siteId!, t.task))
    timeMs += 1000
  }
  const evaluate = (round: number, site: string, loss: number) =>
    feed({
      kind: 'evaluation',
      report: signStatement(signer, { t: 'evaluation', study: STUDY, round, site, model: state.modelOfRound(round)!, examples: 30, metrics: { loss, accuracy: 0.75 }, time: timeMs }),
    })

  feed({ kind: 'create', spec: study, hubKey: signer.publicKey, sites: [SITE, SITE_B].map((id) => ({ id, publicKey: signer.publicKey })), requestMaxAgeMs: 300_000 })
  evaluate(0, SITE, 0.69)
  evaluate(0, SITE_B, 0.7)
  timeMs = OPENED_MS
  feed({ kind: 'round-start', request: signStatement(signer, { t: 'round-start', study: STUDY, round: 1, time: timeMs, nonce: nonce(0x10) }) })
  ;[SITE, SITE_B].forEach((site, i) => {
    const delta = encodeWeights(computeDelta(initialWeights(study.model, width, 7 + i), genesis))
    const envelope = signStatement(signer, {
      t: 'update',
      study: STUDY,
      round: 1,
      site,
      base: state.openRound!.base,
      delta: sha256(delta),
      size: delta.length,
      examples: 100 + 20 * i,
      metrics: { trainLoss: 0.5 - 0.125 * i, steps: 40 },
      nonce: nonce(0x30 + 0x10 * i),
      time: timeMs,
    })
    feed({ kind: 'update', envelope, delta })
  })
  evaluate(1, SITE, 0.55)
  evaluate(1, SITE_B, 0.5)
  if (!state.completed) throw new Error('log vectors: the study did not complete')

  const leaves = appended.map((a) => hashLeaf(a.bytes))
  const root = rootOf(RFC6962_SHA256, leaves)
  const origin = logOrigin(STUDY)
  const checkpoint = signCheckpoint(signer, { origin, size: appended.length, root })
  const body = formatCheckpointBody({ origin, size: appended.length, root })
  const cosignedAt = Math.floor(timeMs / 1000) + 1
  const cosignature = cosignCheckpoint(signer, checkpoint, cosignedAt)
  return {
    entries: appended.map((a) => {
      const { sig: _sig, ...unsigned } = decodeCanonical(a.bytes) as Record<string, CanonicalValue>
      return {
        seq: a.entry.seq,
        kind: a.entry.kind,
        value: toJson(decodeCanonical(a.bytes)),
        want: {
          bytes: toHex(a.bytes),
          sha256: toHex(a.hash),
          leaf: toHex(hashLeaf(a.bytes)),
          unsigned: toHex(encodeCanonical(unsigned)),
          signingMessage: toHex(entrySigningMessage(a.entry)),
        },
      }
    }),
    blobs: [...blobs.values()].map((b) => ({ sha256: toHex(sha256(b)), bytes: toHex(b) })),
    fitTasks: tasks,
    root: toHex(root),
    // A C2SP signed note (signed-note, tlog-checkpoint); the cosignature is cosignature/v1 (tlog-cosignature).
    checkpoint: {
      origin,
      size: appended.length,
      want: {
        body,
        verifierKey: checkpointVerifierKey(origin, signer.publicKey),
        note: checkpoint.note,
      },
    },
    cosignature: {
      timestamp: cosignedAt,
      want: {
        message: `cosignature/v1\ntime ${cosignedAt}\n${body}`,
        signature: toHex(cosignature.signature),
        line: cosignatureLine(cosignature),
      },
    },
  }
}

// ---------------------------------------------------------------------------
// Error codes

/**
 * The RPCs that can end with each code, read from coordinator/grpc/service.ts
 * and the checks its handlers reach (coordinator/round-runner.ts, and in
 * protocol/: admission.ts, consent-rules.ts, delta-checks.ts,
 * patient-rewards.ts, decider.ts). Every handler can also end with
 * COORD_INTERNAL. Codes listed with no RPC are coordinator codes that the
 * Federation service does not return in normal operation.
 */
const RPCS_BY_CODE: Readonly<Record<string, readonly string[]>> = {
  COORD_UPLOAD_PROTOCOL: ['Hello', 'UploadUpdate'],
  COORD_UPLOAD_STALLED: ['UploadUpdate'],
  COORD_BUSY: ['UploadUpdate'],
  COORD_AUTH_DEADLINE: ['any'],
  COORD_DOWNLOAD_STALLED: ['DownloadModel'],
  COORD_REQUEST_UNDECODABLE: ['any'],
  COORD_STATEMENT_INVALID: ['Hello', 'UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards', 'StartRound', 'SubmitApproval', 'SubmitDeclined', 'ChangeMembership'],
  COORD_UNKNOWN_SITE: ['Hello', 'UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards', 'SubmitApproval', 'SubmitDeclined'],
  COORD_BAD_SIGNATURE: ['Hello', 'UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards', 'SubmitCosignature', 'SubmitApproval', 'SubmitDeclined'],
  COORD_STUDY_MISMATCH: ['Hello', 'UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards', 'StartRound', 'SubmitApproval', 'SubmitDeclined', 'ChangeMembership'],
  COORD_STALE_REQUEST: ['Hello', 'StartRound', 'ChangeMembership'],
  COORD_SESSION_INVALID: ['Tasks', 'DownloadModel', 'SubmitCosignature'],
  COORD_STREAM_REPLACED: ['Tasks'],
  COORD_NOT_HUB: ['StartRound', 'ChangeMembership'],
  COORD_PEER_MISMATCH: [
    'Hello',
    'Tasks',
    'DownloadModel',
    'UploadUpdate',
    'ReportEvaluation',
    'SubmitPatientRewards',
    'SubmitCosignature',
    'StartRound',
    'SubmitApproval',
    'SubmitDeclined',
    'ChangeMembership',
  ],
  COORD_UPDATE_REPLAYED: ['Hello', 'UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards', 'StartRound', 'SubmitApproval', 'SubmitDeclined', 'ChangeMembership'],
  COORD_WRONG_ROUND: ['UploadUpdate', 'ReportEvaluation', 'StartRound', 'SubmitDeclined'],
  COORD_DUPLICATE_UPDATE: ['UploadUpdate', 'ReportEvaluation'],
  COORD_WRONG_BASE_MODEL: ['UploadUpdate', 'ReportEvaluation'],
  COORD_UPDATE_TOO_LARGE: ['UploadUpdate'],
  COORD_ENTRY_TOO_LARGE: ['UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards', 'StartRound', 'SubmitApproval', 'SubmitDeclined', 'ChangeMembership'],
  COORD_EXAMPLES_OUT_OF_RANGE: ['UploadUpdate'],
  COORD_DELTA_INTEGRITY: ['UploadUpdate'],
  COORD_DELTA_SHAPE: ['UploadUpdate'],
  COORD_NON_FINITE: ['UploadUpdate'],
  COORD_CONSENT_MISSING: ['UploadUpdate'],
  COORD_CONSENT_INVALID: ['UploadUpdate'],
  COORD_CONSENT_PROOF_MISSING: ['UploadUpdate'],
  COORD_CONSENT_PROOF_INVALID: ['UploadUpdate'],
  COORD_DP_SGD_MISSING: ['UploadUpdate'],
  COORD_DP_SGD_INVALID: ['UploadUpdate'],
  COORD_DP_SGD_OVER_BUDGET: ['UploadUpdate'],
  COORD_ROUND_STATE: ['StartRound', 'UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards', 'ChangeMembership'],
  COORD_MODEL_NOT_FOUND: ['DownloadModel'],
  COORD_PATIENT_REWARDS_INVALID: ['SubmitPatientRewards'],
  COORD_PATIENT_REWARDS_AMOUNT_MISMATCH: ['SubmitPatientRewards'],
  COORD_PATIENT_REWARDS_COUNT_MISMATCH: ['SubmitPatientRewards'],
  COORD_APPROVAL_SPEC_MISMATCH: ['SubmitApproval'],
  COORD_APPROVAL_DUPLICATE: ['SubmitApproval'],
  COORD_DECLINE_INVALID: ['SubmitDeclined'],
  COORD_DP_BUDGET_SPENT: ['StartRound'],
  COORD_DP_SEED_INVALID: ['StartRound'],
  COORD_SECAGG_MESSAGE_INVALID: ['SubmitSecAgg', 'UploadUpdate'],
  COORD_MEMBERSHIP_INVALID: ['ChangeMembership'],
  COORD_STORE_FAILED: ['UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards', 'SubmitApproval', 'SubmitDeclined', 'StartRound', 'ChangeMembership'],
  COORD_INTERNAL: ['any'],
}

/**
 * The RPCs whose refusal with each code the coordinator also writes to the
 * log, for a statement an enrolled site validly signed and that was not taken
 * before, while the study takes entries: `update-rejected` for UploadUpdate
 * (every refusal the decider makes of such an envelope, checked before the
 * delta arrives, and the byte checks after it), `statement-rejected`
 * for ReportEvaluation and SubmitPatientRewards (every refusal the decider
 * makes of such a statement: protocol/decider.ts).
 */
const LOGGED_BY_CODE: Readonly<Record<string, readonly string[]>> = {
  COORD_STUDY_MISMATCH: ['UploadUpdate', 'ReportEvaluation', 'SubmitPatientRewards'],
  COORD_WRONG_ROUND: ['UploadUpdate', 'ReportEvaluation'],
  COORD_WRONG_BASE_MODEL: ['UploadUpdate', 'ReportEvaluation'],
  COORD_DUPLICATE_UPDATE: ['UploadUpdate', 'ReportEvaluation'],
  COORD_EXAMPLES_OUT_OF_RANGE: ['UploadUpdate'],
  COORD_UPDATE_TOO_LARGE: ['UploadUpdate'],
  COORD_CONSENT_MISSING: ['UploadUpdate'],
  COORD_CONSENT_INVALID: ['UploadUpdate'],
  COORD_CONSENT_PROOF_MISSING: ['UploadUpdate'],
  COORD_CONSENT_PROOF_INVALID: ['UploadUpdate'],
  COORD_DP_SGD_MISSING: ['UploadUpdate'],
  COORD_DP_SGD_INVALID: ['UploadUpdate'],
  COORD_DP_SGD_OVER_BUDGET: ['UploadUpdate'],
  COORD_DELTA_INTEGRITY: ['UploadUpdate'],
  COORD_DELTA_SHAPE: ['UploadUpdate'],
  COORD_NON_FINITE: ['UploadUpdate'],
  COORD_PATIENT_REWARDS_INVALID: ['SubmitPatientRewards'],
  COORD_PATIENT_REWARDS_AMOUNT_MISMATCH: ['SubmitPatientRewards'],
  COORD_PATIENT_REWARDS_COUNT_MISMATCH: ['SubmitPatientRewards'],
  COORD_SECAGG_MESSAGE_INVALID: ['SubmitSecAgg', 'UploadUpdate'],
}

type ErrorClass = new (message: string) => protocol.ProtocolError

/** Every error class with a COORD_ code (a refusal a coordinator answers with) that the coordinator's and the protocol's surfaces export, by code. */
function coordinatorErrorClasses(): Map<string, ErrorClass> {
  const out = new Map<string, ErrorClass>()
  for (const value of [...Object.values(coordinator), ...Object.values(protocol)]) {
    if (typeof value !== 'function' || !(value.prototype instanceof protocol.ProtocolError)) continue
    const code = (value as unknown as { code: string }).code
    if (!code.startsWith('COORD_')) continue
    out.set(code, value as unknown as ErrorClass)
  }
  return out
}

function statusOf(err: unknown): { status: string; statusCode: number } {
  const e = coordinator.toServiceError(err)
  const code = e.code!
  return { status: grpcStatus[code], statusCode: code }
}

function errorCodeVectors(): unknown[] {
  const classes = coordinatorErrorClasses()
  const rows = [...classes.entries()].map(([code, Cls]) => ({ code, ...statusOf(new Cls('vector')) }))
  rows.push({ code: 'COORD_INTERNAL', ...statusOf(new Error('any other error')) })
  const missing = Object.keys(RPCS_BY_CODE).filter((c) => !rows.some((r) => r.code === c))
  if (missing.length > 0) throw new Error(`RPCS_BY_CODE names codes the coordinator does not export: ${missing.join(', ')}`)
  const strays = Object.entries(LOGGED_BY_CODE).flatMap(([code, rpcs]) => rpcs.filter((rpc) => !(RPCS_BY_CODE[code] ?? []).includes(rpc)).map((rpc) => `${code} ${rpc}`))
  if (strays.length > 0) throw new Error(`LOGGED_BY_CODE names RPCs that do not return the code: ${strays.join(', ')}`)
  const rpcs = (code: string) => RPCS_BY_CODE[code] ?? []
  rows.sort((a, b) => (rpcs(a.code).length === 0 ? 1 : 0) - (rpcs(b.code).length === 0 ? 1 : 0) || (a.code < b.code ? -1 : 1))
  return rows.map((r) => ({
    desc: r.code,
    code: r.code,
    rpcs: rpcs(r.code),
    logged: LOGGED_BY_CODE[r.code] ?? [],
    want: { status: r.status, statusCode: r.statusCode },
  }))
}

// ---------------------------------------------------------------------------
// Files

const KEY = { seed: toHex(TEST_SEED), publicKey: toHex(signer.publicKey), note: 'The published test key (seed = 32 bytes of 0x01). Never enrol it.' }

const FILES: Record<string, { about: string; body: () => Record<string, unknown> }> = {
  'statements.json': {
    about:
      'Signed statements. value (typed JSON, see notation) encodes canonically to want.body; want.sha256 = SHA-256(body); ' +
      `want.signingMessage = UTF-8("${STATEMENT_SIGNING_CONTEXT}") ‖ 0x00 ‖ body; want.signature = Ed25519(key.seed, signingMessage) and verifies under key.publicKey. ` +
      'Every vector is signed with the test key; signedBy says whose key signs such a statement in a study.',
    body: () => ({ notation: VALUE_NOTATION, floats: floatEncoding(), key: KEY, context: STATEMENT_SIGNING_CONTEXT, vectors: statementVectors() }),
  },
  'cbor.json': {
    about: 'The canonical CBOR profile: value (typed JSON, see notation) encodes to want (hex), and want decodes to value.',
    body: () => ({ notation: VALUE_NOTATION, floats: floatEncoding(), vectors: cborVectors() }),
  },
  'log.json': {
    about:
      'A whole one-round study log as the coordinator writes it (protocol decider), every key the test key. entries[i].value (typed JSON) is the entry map; want.bytes its canonical CBOR, ' +
      `want.sha256 the entry hash (the next entry's prev), want.leaf its RFC 6962 leaf hash SHA-256(0x00 ‖ bytes), want.unsigned the map without sig, want.signingMessage UTF-8("${ENTRY_SIGNING_CONTEXT}") ‖ 0x00 ‖ unsigned. ` +
      "blobs: every model and delta the log names, by SHA-256. fitTasks: the FitTask each site got when round 1 opened; config is the canonical CBOR of the site's instructions in round-opened's plan. " +
      'root: the RFC 6962 root of all entries; checkpoint: the coordinator\'s checkpoint over them, a C2SP signed note (c2sp.org/tlog-checkpoint, c2sp.org/signed-note): want.body is "<origin>\\n<size>\\n<base64 root>\\n", ' +
      'want.note the body, a blank line and the line "— <origin> base64(key ID ‖ Ed25519 signature of the body)", key ID = SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ key)[:4], want.verifierKey "<origin>+<key ID hex>+base64(0x01 ‖ key)". ' +
      'cosignature: a witness\'s cosignature/v1 (c2sp.org/tlog-cosignature) of it at `timestamp` (seconds): Ed25519 over want.message; want.line is its signature line, "— <witness name> base64(key ID ‖ uint64 BE timestamp ‖ signature)", ' +
      'the witness name "fedlineage.example/witness/<key hex>", key ID = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4].',
    body: () => ({ notation: VALUE_NOTATION, floats: floatEncoding(), key: KEY, ...logVectors() }),
  },
  'weights.json': {
    about:
      'FLW1 weights blobs. init: initialWeights(model, inputWidth, seed); delta: computeDelta(initial model of localSeed, initial model of baseSeed). ' +
      'want.tensors lists names, shapes and float32 values (as float64 JSON numbers, exact); want.bytes is the FLW1 encoding, want.sha256 its SHA-256 (the model or delta hash).',
    body: () => ({ vectors: weightsVectors() }),
  },
  'layouts.json': {
    about: 'Model layouts: modelShapes(model, inputWidth(data)) = want.tensors, in order; want.size is the FLW1 byte size of any weights or delta of that layout (FitTask.delta_size_bytes).',
    body: () => ({ vectors: layoutVectors() }),
  },
  'error-codes.json': {
    about:
      'The stable error codes and the gRPC status each leaves the coordinator with (toServiceError); details = "CODE: message", trailer fl-error-code = CODE. ' +
      'rpcs: the Federation RPCs that can end with the code (empty: not returned by the service in normal operation). ' +
      'logged: the RPCs whose refusal with the code is also written to the log, for a statement an enrolled site validly signed and that was not taken before ' +
      '(UploadUpdate as update-rejected, ReportEvaluation and SubmitPatientRewards as statement-rejected).',
    body: () => ({ trailer: coordinator.ERROR_CODE_METADATA_KEY, vectors: errorCodeVectors() }),
  },
}

function main(): void {
  const dir = fileURLToPath(new URL('.', import.meta.url))
  for (const [name, { about, body }] of Object.entries(FILES)) {
    const file = { comment: COMMENT, about, ...body() }
    writeFileSync(`${dir}${name}`, `${JSON.stringify(file, null, 2)}\n`)
    console.log(`wrote test/vectors/protocol/${name}`)
  }
}

main()
