/**
 * The pure half of the ledger: canonical bytes, hashes, Ed25519, and the log
 * entry format. No I/O, no clock, no randomness; safe to import from any
 * consumer that must stay I/O-free (the auditor's replay, browsers, tests).
 * Key generation and storage live in the shell (`ledger/index.ts`).
 */
export { decodeCanonical, encodeCanonical, encodeCanonicalInto, equalBytes, type CanonicalValue } from './canonical.ts'
export {
  ENTRY_KIND_PATTERN,
  ENTRY_SIGNING_CONTEXT,
  ENTRY_VERSION,
  HASH_LENGTH_BYTES,
  PUBLIC_KEY_LENGTH_BYTES,
  SEED_LENGTH_BYTES,
  SIGNATURE_LENGTH_BYTES,
  SIGNING_CONTEXT_SEPARATOR,
} from './constants.ts'
export {
  GENESIS_PREV_HASH,
  checkEntryLink,
  decodeEntry,
  encodeEntry,
  entryHash,
  entrySigningMessage,
  signEntry,
  verifyEntry,
  type AppendedEntry,
  type Entry,
  type EntryDraft,
  type EntryExpectation,
} from './entry.ts'
export { asPlainBytes, fromHex, sha256, toHex } from './hash.ts'
export { READ_SLICE_BYTES, bytesReader, readAll, sha256Reader, type BlobReader } from './blob-reader.ts'
export { isCanonicalScalar, publicKeyFromRaw, rawPublicKey, signerFromSeed, verifySignature, verifySignatureAsync, type Signer } from './signature.ts'
export { EMPTY_COMPACT_RANGE, appendLeaf, appendLeaves, compactRangeFrom, compactRangeOf, rootOfRange, type CompactRange, type NodeVisitor } from './compact-range.ts'
export {
  LEAF_HASH_PREFIX,
  NODE_HASH_PREFIX,
  RFC6962_SHA256,
  consistencyProof,
  consistencyProofFrom,
  consistencyProofNodes,
  hashChildren,
  hashLeaf,
  inclusionProof,
  inclusionProofFrom,
  inclusionProofNodes,
  rangeNodes,
  rootFrom,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  rootOf,
  verifyConsistency,
  verifyInclusion,
  type Hasher,
  type NodeId,
  type NodeReader,
} from './merkle.ts'
export { HashWrongLengthError, ProofIndexOutOfRangeError, ProofSizeOutOfRangeError, ProofWrongLengthError, RootMismatchError } from './merkle-errors.ts'
export {
  LOG_ORIGIN_PREFIX,
  WITNESS_NAME_PREFIX,
  checkpointVerifierKey,
  cosignatureLine,
  cosignatureVerifierKey,
  cosignCheckpoint,
  formatCheckpointBody,
  logOrigin,
  openCosignatures,
  parseCheckpointBody,
  witnessKeyName,
  withCosignatures,
  decodeMisbehaviourProof,
  decodeSignedCheckpoint,
  encodeMisbehaviourProof,
  encodeSignedCheckpoint,
  openCheckpoint,
  readCheckpoint,
  signCheckpoint,
  splitViewProof,
  verifyCosignature,
  verifyMisbehaviourProof,
  type Checkpoint,
  type Cosignature,
  type MisbehaviourProof,
  type SignedCheckpoint,
} from './checkpoint.ts'
export {
  MAX_NOTE_SIGNATURES,
  NOTE_KEY_TYPE_COSIGNATURE_V1,
  NOTE_KEY_TYPE_ED25519,
  formatNote,
  formatSignatureLine,
  formatVerifierKey,
  noteKeyId,
  parseNote,
  parseVerifierKey,
  type NoteSignature,
  type NoteVerifierKey,
  type ParsedNote,
} from './signed-note.ts'
export { CheckpointInvalidError, CheckpointRootMismatchError, MisbehaviourProofInvalidError } from './checkpoint-errors.ts'
export {
  ADD_CHECKPOINT_PATH,
  MAX_WITNESS_PROOF_LINES,
  TLOG_SIZE_CONTENT_TYPE,
  decodeTimestampedSignature,
  formatAddCheckpointRequest,
  openWitnessCosignatures,
  parseAddCheckpointRequest,
  parseWitnessResponse,
  type AddCheckpointRequest,
} from './witness-request.ts'
export { WITNESS_STATUS, decideAddCheckpoint, type AddCheckpointDecision, type WitnessLogState, type WitnessRefusalStatus } from './witness-decision.ts'
export {
  MAX_POLICY_ITEMS,
  POLICY_QUORUM_NONE,
  parseWitnessPolicy,
  policyWitnessNames,
  quorumSatisfied,
  type PolicyGroup,
  type PolicyLog,
  type PolicyWitness,
  type WitnessPolicy,
} from './tlog-policy.ts'
export {
  WitnessPolicyInvalidError,
  WitnessQuorumNotMetError,
  WitnessRefusedError,
  WitnessRequestMalformedError,
  WitnessResponseInvalidError,
  WitnessStateInvalidError,
  WitnessStateLockedError,
} from './witness-errors.ts'
export { INCLUSION_BUNDLE_FORMAT, checkInclusionBundle, makeInclusionBundle, type CheckedInclusion, type InclusionBundle } from './proof-bundle.ts'
export {
  MAX_ERROR_MESSAGE_LENGTH,
  decodeBlobFrame,
  decodeBlobRequest,
  decodeCheckpointFrame,
  decodeCheckpointRequest,
  decodeSyncFrame,
  decodeSyncRequest,
  encodeBlobFrame,
  encodeBlobRequest,
  encodeCheckpointFrame,
  encodeCheckpointRequest,
  encodeFrame,
  encodeSyncFrame,
  encodeSyncRequest,
  errorFrame,
  frameSize,
  splitFrames,
  type BlobFrame,
  type BlobRequest,
  type CheckpointFrame,
  type CheckpointRequest,
  type ErrorFrame,
  type SplitFrames,
  type SyncFrame,
  type SyncRequest,
} from './sync-codec.ts'
export { SyncFrameMalformedError, SyncFrameTooLargeError } from './sync-errors.ts'
export {
  MAX_ENTRY_BYTES,
  MAX_TILE_LEVEL,
  TILE_HEIGHT,
  TILE_WIDTH,
  decodeEntryBundle,
  encodeEntryBundle,
  encodeTileIndex,
  entryBundlePath,
  joinTileHashes,
  parseTilePath,
  splitTileHashes,
  tileNodeIds,
  tilePath,
  tileWidthAt,
  tilesForSize,
  type TileId,
  type TilePath,
} from './tiles.ts'
export { EntryBundleMalformedError, LedgerEntryTooLargeError, TileFetchError, TileMismatchError, TilePathInvalidError, TlogProofMalformedError } from './tile-errors.ts'
export { policyCosigners, requireCheckpointQuorum } from './checkpoint-quorum.ts'
export { TLOG_PROOF_HEADER, checkTlogProof, formatTlogProof, isTlogProof, parseTlogProof, type CheckedTlogProof, type TlogProof } from './tlog-proof.ts'
/** The base class of every ledger error, for callers of the pure core that map ledger codes to their own. */
export { LedgerError } from '../errors.ts'
