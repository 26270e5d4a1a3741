/**
 * Reads an exported model directory back and checks that it holds together
 * before anything is scored with it: the layers files load with
 * `tf.loadLayersModel` into weights that hash to the model hash the card
 * names, and the card's commit proof shows, under the coordinator's signed
 * checkpoint, the log entry that committed exactly that model.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { checkInclusionBundle, toHex as hex, type CheckedInclusion } from '../../ledger/index.ts'
import { StudySpecSchema, fromLayersModel, hashWeights, inputWidth, toHex, type LayersModelJson, type StudySpec, type Weights } from '../../models/index.ts'
import { ENTRY_KINDS, readLineageRecord } from '../../protocol/index.ts'
import { SiteExportDamagedError } from '../errors.ts'
import { EXPORT_FILES } from './files.ts'
import { MODEL_CARD_FORMAT, type ModelCard } from './model-card.ts'

export interface LoadedExport {
  readonly card: ModelCard
  readonly spec: StudySpec
  readonly weights: Weights
  /** The checked commit proof. */
  readonly proof: CheckedInclusion
  /** Whether the checkpoint's key was pinned by the caller (else it is the key the card itself names). */
  readonly keyPinned: boolean
}

async function readIn(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, name))
  } catch (err) {
    throw new SiteExportDamagedError(`${path.join(dir, name)}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'}); is --model an export directory of \`fedlineage model export\`?`, {
      cause: err,
    })
  }
}

function parseJson(bytes: Buffer, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    throw new SiteExportDamagedError(`${file}: not JSON (${(err as Error).message})`, { cause: err })
  }
}

/** Loads and checks `dir`. `coordinatorKey` pins the key the commit's checkpoint must be signed with. */
export async function loadExport(dir: string, coordinatorKey?: Uint8Array): Promise<LoadedExport> {
  const card = parseJson(await readIn(dir, EXPORT_FILES.card), EXPORT_FILES.card) as ModelCard
  if (card?.format !== MODEL_CARD_FORMAT) throw new SiteExportDamagedError(`${path.join(dir, EXPORT_FILES.card)}: format ${JSON.stringify(card?.format)}, want ${MODEL_CARD_FORMAT}`)
  const parsedSpec = StudySpecSchema.safeParse(card.study?.spec)
  if (!parsedSpec.success) throw new SiteExportDamagedError(`${EXPORT_FILES.card}: study.spec is not a valid study spec (${parsedSpec.error.issues[0]?.message})`)
  const spec = parsedSpec.data
  const modelJson = parseJson(await readIn(dir, EXPORT_FILES.modelJson), EXPORT_FILES.modelJson) as LayersModelJson
  const weightsBin = new Uint8Array(await readIn(dir, EXPORT_FILES.weights))

  let weights: Weights
  try {
    weights = await fromLayersModel({ modelJson, weightsBin }, spec.model, inputWidth(spec.data))
  } catch (err) {
    throw new SiteExportDamagedError(`${dir}: the layers model does not load as the study's model (${(err as Error).message})`, { cause: err })
  }
  const got = toHex(hashWeights(weights))
  if (got !== card.model.sha256)
    throw new SiteExportDamagedError(`${dir}: the weights hash to ${got}, but the card names model ${card.model.sha256}: the files were changed after export; do not use them`)

  let proof: CheckedInclusion
  try {
    proof = checkInclusionBundle(card.log.commitProof, coordinatorKey)
  } catch (err) {
    throw new SiteExportDamagedError(`${dir}: the commit proof does not check (${(err as Error).message})`, { cause: err })
  }
  const record = readLineageRecord(proof.entry)
  if (record.kind !== ENTRY_KINDS.ROUND_COMMITTED || hex(record.body.model) !== card.model.sha256 || record.body.round !== card.model.round) {
    throw new SiteExportDamagedError(`${dir}: the commit proof proves entry ${proof.entry.seq} (${record.kind}), not the commit of model ${card.model.sha256} in round ${card.model.round}`)
  }
  return { card, spec, weights, proof, keyPinned: coordinatorKey !== undefined }
}
