/**
 * `fedlineage model export`: a committed model out of a verified log, in
 * TF.js's layers format, with the preprocessing it needs and its model card.
 *
 * Nothing is written until every check passed: the whole log verifies
 * (signatures, chain, one author — the pinned coordinator key when given),
 * the round's commit is included in the newest signed checkpoint (the proof
 * is checked before it is written), the model blob hashes to the committed
 * hash, and the layers files TF.js wrote load back, with `tf.loadLayersModel`,
 * into weights of that same hash. The files are written to a temporary
 * directory beside `out` and renamed into place, so `out` either holds a
 * whole, checked export or does not exist.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  Ledger,
  checkInclusionBundle,
  equalBytes,
  makeInclusionBundle,
  openStoreForReading,
  readCheckpoint,
  verifyLog,
  type InclusionBundle,
  type LogVerification,
  type StoreSnapshot,
} from '../../ledger/index.ts'
import { decodeWeights, fromLayersModel, hashBytes, hashWeights, inputNames, inputWidth, toHex, toLayersModel } from '../../models/index.ts'
import { StudyState, readLineageRecord } from '../../protocol/index.ts'
import { SiteExportRefusedError } from '../errors.ts'
import { EXPORT_FILES, PREPROCESSING_FORMAT } from './files.ts'
import { buildModelCard, type ModelCard } from './model-card.ts'
import { renderModelCard } from './model-card-markdown.ts'

export interface ExportModelInit {
  /** The log's LevelDB directory: the coordinator's store, a site's replica, an auditor's copy. */
  readonly db: string
  readonly out: string
  /** The committed round to export; default the newest. */
  readonly round?: number
  /** When given, every log entry must be signed by this coordinator key. */
  readonly coordinatorKey?: Uint8Array
  /** fedlineage's version, for the card. */
  readonly version: string
  /** Told when the store is in use and a snapshot of it is read. */
  readonly onSnapshot?: (snapshot: StoreSnapshot) => void
}

export interface ExportedModel {
  readonly card: ModelCard
  readonly dir: string
  readonly files: readonly string[]
}

export async function exportModel(init: ExportModelInit): Promise<ExportedModel> {
  await refuseNonEmpty(init.out)
  // A running coordinator or site agent holds its store: read a consistent snapshot of it instead.
  const storage = await openStoreForReading(init.db, init.onSnapshot ? { onSnapshot: init.onSnapshot } : {})
  let verified: LogVerification
  let ledger: Ledger
  try {
    verified = await verifyLog(storage, init.coordinatorKey ? { trustedAuthors: [init.coordinatorKey] } : {})
    ledger = await Ledger.open(storage)
  } catch (err) {
    await storage.close()
    throw err
  }
  try {
    const coordinatorKey = init.coordinatorKey ?? verified.authors[0]
    if (coordinatorKey === undefined) throw new SiteExportRefusedError(`${init.db}: the log is empty; nothing to export`)
    const state = new StudyState()
    for await (const { entry } of ledger.scan()) state.apply(readLineageRecord(entry))
    const round = pickRound(state, init.round, init.db)
    const commit = round.commit!

    const signed = await ledger.latestCheckpoint()
    const checkpoint = signed ? readCheckpoint(signed) : undefined
    if (!signed || !checkpoint || checkpoint.size <= commit.seq) {
      throw new SiteExportRefusedError(
        `${init.db}: round ${round.round}'s commit (entry ${commit.seq}) is not covered by a signed checkpoint yet${checkpoint ? ` (newest: size ${checkpoint.size})` : ''}; retry once the coordinator has signed the next one`,
      )
    }
    const proof: InclusionBundle = makeInclusionBundle(commit.seq, (await ledger.get(commit.seq)).bytes, await ledger.inclusionProof(commit.seq, checkpoint.size), signed, coordinatorKey)
    // Never hand out a proof that does not check (the same rule as `log prove`).
    checkInclusionBundle(JSON.parse(JSON.stringify(proof)), coordinatorKey)

    const modelHash = commit.body.model
    if (!(await ledger.hasBlob(modelHash))) {
      throw new SiteExportRefusedError(
        `${init.db}: the store does not hold round ${round.round}'s model blob ${toHex(modelHash)}; export from a store that does (the coordinator's, or a replica that synced it)`,
      )
    }
    const blob = await ledger.getBlob(modelHash)
    if (!equalBytes(hashBytes(blob), modelHash)) throw new SiteExportRefusedError(`${init.db}: blob ${toHex(modelHash)} does not hash to its name; run \`fedlineage log verify --db ${init.db}\``)
    const spec = state.study
    const weights = decodeWeights(blob, state.shapes)
    const layers = await toLayersModel(spec.model, inputWidth(spec.data), weights)
    const reloaded = await fromLayersModel(layers, spec.model, inputWidth(spec.data))
    if (!equalBytes(hashWeights(reloaded), modelHash)) {
      throw new SiteExportRefusedError(`the layers files TF.js wrote load back to weights of hash ${toHex(hashWeights(reloaded))}, not the committed ${toHex(modelHash)}; nothing was written`)
    }

    const card = buildModelCard({
      state,
      round,
      coordinatorKey,
      commitProof: proof,
      checkpoint,
      files: { modelJson: EXPORT_FILES.modelJson, weights: EXPORT_FILES.weights, preprocessing: EXPORT_FILES.preprocessing },
      version: init.version,
    })
    const preprocessing = {
      format: PREPROCESSING_FORMAT,
      inputs: inputNames(spec.data),
      output: 'the model outputs one logit per record; P(label is positive) = 1 / (1 + exp(-logit))',
      label: { column: spec.data.label.column, positive: spec.data.label.positive },
      standardize: {
        mode: spec.data.standardize,
        scope:
          spec.data.standardize === 'none'
            ? 'none: inputs are used as prepared'
            : "per site: each site standardises with its own train split's mean and sample std, which never leave the site; score records with `fedlineage predict --site-config site.json`, which recomputes them from that site's records",
      },
      schema: spec.data,
    }
    const files: Record<string, string | Uint8Array> = {
      [EXPORT_FILES.modelJson]: json(layers.modelJson),
      [EXPORT_FILES.weights]: layers.weightsBin,
      [EXPORT_FILES.preprocessing]: json(preprocessing),
      [EXPORT_FILES.card]: json(card),
      [EXPORT_FILES.cardMarkdown]: renderModelCard(card),
      [EXPORT_FILES.commitProof]: json(proof),
    }
    await writeAtomically(init.out, files)
    return { card, dir: init.out, files: Object.keys(files) }
  } finally {
    await ledger.close()
  }
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n'
}

/** The committed round to export: `wanted`, or the newest committed. */
function pickRound(state: StudyState, wanted: number | undefined, db: string) {
  const committed = [...state.rounds.values()].filter((r) => r.commit !== undefined).map((r) => r.round)
  if (committed.length === 0) throw new SiteExportRefusedError(`${db}: study "${state.studyId}" has no committed round yet; only the initial model exists`)
  const round = wanted ?? Math.max(...committed)
  const record = state.rounds.get(round)
  if (record?.commit === undefined) {
    const status = record === undefined ? 'was never opened' : `is ${record.status}`
    throw new SiteExportRefusedError(`--round ${round}: that round ${status}; committed rounds are ${committed[0]}–${committed[committed.length - 1]}`)
  }
  return record
}

async function refuseNonEmpty(out: string): Promise<void> {
  const entries = await readdir(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw new SiteExportRefusedError(`--out ${out}: ${err.code === 'ENOTDIR' ? 'is a file' : `cannot read (${err.code})`}; name a new or empty directory`)
  })
  if (entries.length > 0) throw new SiteExportRefusedError(`--out ${out}: the directory is not empty; name a new or empty directory (an export never overwrites)`)
}

/** Writes every file into a fresh sibling directory, then renames it to `out`. */
async function writeAtomically(out: string, files: Readonly<Record<string, string | Uint8Array>>): Promise<void> {
  const parent = path.dirname(path.resolve(out))
  await mkdir(parent, { recursive: true })
  const temp = path.join(parent, `.${path.basename(out)}.export-${process.pid}-${Date.now()}`)
  await mkdir(temp)
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(temp, name), content)
    await rm(out, { recursive: true, force: true }) // only ever the empty directory refuseNonEmpty let through
    await rename(temp, out)
  } catch (err) {
    await rm(temp, { recursive: true, force: true })
    throw err
  }
}
