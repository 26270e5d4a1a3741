import { LAYERS_WEIGHTS_FILE } from '../../models/index.ts'

/** The files of an exported model directory, by role. */
export const EXPORT_FILES = {
  modelJson: 'model.json',
  weights: LAYERS_WEIGHTS_FILE,
  preprocessing: 'preprocessing.json',
  card: 'model-card.json',
  cardMarkdown: 'model-card.md',
  commitProof: 'commit-proof.json',
} as const

export const PREPROCESSING_FORMAT = 'fedlineage/preprocessing/v1'
