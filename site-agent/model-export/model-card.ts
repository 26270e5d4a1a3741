/**
 * The model card of an exported model: what a person deciding whether to
 * use the model needs, every line taken from the verified lineage log —
 * the study and its exact spec, how the model came to be (rounds, sites,
 * examples, strategy), how it scored at each site, the consent and privacy
 * terms it was trained under, and the signed checkpoint with the inclusion
 * proof of the entry that committed it, so a reader can check the card
 * against the log without trusting whoever handed it over.
 *
 * Pure: built from a folded `StudyState`; the export writes it.
 */
import { inputNames, parameterCount, toHex, type StudySpec } from '../../models/index.ts'
import { specHash, type RoundRecord, type StudyState } from '../../protocol/index.ts'
import type { InclusionBundle } from '../../ledger/index.ts'

export const MODEL_CARD_FORMAT = 'fedlineage/model-card/v1'

/** A site's signed report on its own held-out records. */
export interface SiteEvaluation {
  readonly site: string
  readonly examples: number
  readonly loss: number
  readonly accuracy: number
  /** Absent when the site's validation records hold one class only. */
  readonly auc?: number
}

export interface RoundLineage {
  readonly round: number
  readonly model: string
  readonly parent: string
  readonly inputs: readonly { readonly site: string; readonly examples: number }[]
  /** Planned sites that sent no usable update, with the reason the log gives. */
  readonly failures: readonly { readonly site: string; readonly reason: string }[]
  /** Sites the strategy left out, with its reason. */
  readonly exclusions: readonly { readonly site: string; readonly reason: string }[]
  /** The round's training metrics as the commit logged them (examples-weighted train loss, update norms). */
  readonly metrics: Readonly<Record<string, number>>
  /** When the round opened: in a study with consent, the time each site's consent was decided at. */
  readonly openedAt: string
  readonly committedAt: string
}

export interface ModelCard {
  readonly format: typeof MODEL_CARD_FORMAT
  readonly study: { readonly id: string; readonly title: string; readonly specSha256: string; readonly spec: StudySpec }
  readonly model: {
    readonly round: number
    readonly sha256: string
    readonly kind: string
    readonly parameters: number
    readonly inputs: readonly string[]
    /** `model.json` + its weights file: TF.js layers format, `tf.loadLayersModel`. */
    readonly files: { readonly modelJson: string; readonly weights: string; readonly preprocessing: string }
    /** True when the study completed with this model as its final one. */
    readonly final: boolean
  }
  readonly training: StudySpec['training']
  readonly strategy: { readonly name: string; readonly params: Readonly<Record<string, number | string | boolean>> }
  /** Every committed round up to the exported one, oldest first. */
  readonly lineage: readonly RoundLineage[]
  readonly sites: readonly {
    readonly site: string
    /** Rounds (up to the exported one) whose aggregate took this site's update. */
    readonly rounds: number
    /** Training examples the site declared in its update to the exported round (0 if it sent none). */
    readonly examples: number
  }[]
  /** The sites' reports on the exported model; `weighted` by their example counts. */
  readonly evaluation: {
    readonly round: number
    readonly perSite: readonly SiteEvaluation[]
    readonly weighted?: { readonly examples: number; readonly loss: number; readonly accuracy: number }
  }
  readonly consent: {
    readonly required: boolean
    readonly purpose?: string
    /** Per site, the consent claim its update to the exported round committed to. */
    readonly claims: readonly { readonly site: string; readonly patients: number; readonly root: string; readonly excluded: Readonly<Record<string, number>> }[]
  }
  /** What protected the records and the updates; each line says what was not done as plainly as what was. */
  readonly privacy: readonly string[]
  readonly log: {
    readonly coordinatorKey: string
    readonly entries: number
    readonly commitSeq: number
    /** `fedlineage log check-proof --proof commit-proof.json` checks it offline. */
    readonly commitProof: InclusionBundle
    readonly checkpoint: { readonly origin: string; readonly size: number; readonly rootSha256: string }
  }
  readonly exportedBy: string
}

export interface ModelCardInit {
  readonly state: StudyState
  readonly round: RoundRecord
  readonly coordinatorKey: Uint8Array
  readonly commitProof: InclusionBundle
  readonly checkpoint: { readonly origin: string; readonly size: number; readonly root: Uint8Array }
  readonly files: ModelCard['model']['files']
  readonly version: string
}

/** Builds the card of `round`'s committed model. Requires `round.commit`. */
export function buildModelCard(init: ModelCardInit): ModelCard {
  const { state, round } = init
  const spec = state.study
  const commit = round.commit!.body
  const committed = [...state.rounds.values()].filter((r) => r.commit !== undefined && r.round <= round.round).sort((a, b) => a.round - b.round)
  const perSite = [...(state.evaluations.get(round.round)?.values() ?? [])]
    .map(
      (e): SiteEvaluation => ({
        site: e.site,
        examples: e.examples,
        loss: e.metrics['loss'] ?? NaN,
        accuracy: e.metrics['accuracy'] ?? NaN,
        ...(e.metrics['auc'] !== undefined ? { auc: e.metrics['auc'] } : {}),
      }),
    )
    .sort((a, b) => (a.site < b.site ? -1 : 1))
  const examples = perSite.reduce((n, e) => n + e.examples, 0)
  const weighted =
    examples > 0
      ? {
          examples,
          loss: perSite.reduce((s, e) => s + e.loss * e.examples, 0) / examples,
          accuracy: perSite.reduce((s, e) => s + e.accuracy * e.examples, 0) / examples,
        }
      : undefined
  const sites = [...state.sites.keys()].sort().map((site) => ({
    site,
    rounds: committed.filter((r) => r.commit!.body.inputs.some((i) => i.site === site)).length,
    examples: commit.inputs.find((i) => i.site === site)?.examples ?? 0,
  }))
  return {
    format: MODEL_CARD_FORMAT,
    study: { id: spec.id, title: spec.title, specSha256: toHex(specHash(state.spec)), spec },
    model: {
      round: round.round,
      sha256: toHex(commit.model),
      kind: spec.model.kind === 'mlp' ? `mlp ${spec.model.hidden.join('-')} ${spec.model.activation}` : 'logistic regression',
      parameters: parameterCount(state.shapes),
      inputs: inputNames(spec.data),
      files: init.files,
      final: state.completed && round.round === state.currentModelRound,
    },
    training: spec.training,
    strategy: { name: commit.strategy.name, params: commit.strategy.params },
    lineage: committed.map((r) => {
      const b = r.commit!.body
      return {
        round: r.round,
        model: toHex(b.model),
        parent: toHex(b.parent),
        inputs: b.inputs.map((i) => ({ site: i.site, examples: i.examples })),
        failures: b.failures.map((f) => ({ site: f.site, reason: f.reason })),
        exclusions: b.exclusions.map((e) => ({ site: e.site, reason: e.reason })),
        metrics: b.metrics,
        openedAt: new Date(r.openedMs).toISOString(),
        committedAt: new Date(r.commit!.timeMs).toISOString(),
      }
    }),
    sites,
    evaluation: { round: round.round, perSite, ...(weighted ? { weighted } : {}) },
    consent: {
      required: spec.consent !== undefined,
      ...(spec.consent ? { purpose: spec.consent.purpose } : {}),
      claims: [...round.accepted.values()]
        .filter((u) => u.consent !== undefined)
        .map((u) => ({ site: u.site, patients: u.consent!.count, root: toHex(u.consent!.root), excluded: { ...u.consent!.excluded } }))
        .sort((a, b) => (a.site < b.site ? -1 : 1)),
    },
    privacy: privacyTerms(spec, committed),
    log: {
      coordinatorKey: toHex(init.coordinatorKey),
      entries: state.entries,
      commitSeq: round.commit!.seq,
      commitProof: init.commitProof,
      checkpoint: { origin: init.checkpoint.origin, size: init.checkpoint.size, rootSha256: toHex(init.checkpoint.root) },
    },
    exportedBy: `fedlineage ${init.version}`,
  }
}

/** The privacy terms the spec sets and the log shows (site-level DP, each site's DP-SGD claims, secure aggregation), stated without overclaiming. */
function privacyTerms(spec: StudySpec, committed: readonly RoundRecord[]): string[] {
  const secagg = spec.secureAggregation !== undefined
  const terms = [
    secagg
      ? 'Records never left their sites: each site sent only its masked, quantized weight delta per round.'
      : 'Records never left their sites: each site sent only a signed weight delta per round.',
    ...differentialPrivacyTerms(spec, committed),
    secagg
      ? "Secure aggregation: the coordinator saw only the sum of the surviving sites' masked deltas, never one site's delta; the audit replays each sum from the log."
      : "No secure aggregation: the coordinator saw each site's delta in the clear.",
    spec.auditors?.length
      ? `Deltas are served over the log's replication only to the coordinator, the site that sent each, and the study's named auditors (${spec.auditors.map((a) => a.name).join(', ')}).`
      : "Deltas are served over the log's replication only to the coordinator and the site that sent each.",
  ]
  if (spec.retention) terms.push(`Deltas are deleted once ${spec.retention.deltaRounds} later rounds have committed; models are kept.`)
  return terms
}

/**
 * What differential privacy covers this model: site-level DP as the last
 * commit logged it, and per site whether every update it contributed
 * carried a patient-level DP-SGD claim (with its last claimed ε). Said
 * plainly when there is none.
 */
function differentialPrivacyTerms(spec: StudySpec, committed: readonly RoundRecord[]): string[] {
  const terms: string[] = []
  const lastDp = committed.at(-1)?.commit?.body.dp
  if (spec.dp !== undefined && lastDp !== undefined)
    terms.push(
      lastDp.distributed === true
        ? `Site-level differential privacy, distributed under secure aggregation (each site clipped its delta and added its share of discrete Gaussian noise): ε ${lastDp.epsilon.toPrecision(4)} at δ ${lastDp.delta} after this round, as the log accounts it.`
        : `Site-level differential privacy (DP-FedAvg at the coordinator): ε ${lastDp.epsilon.toPrecision(4)} at δ ${lastDp.delta} after this round, as the log accounts it.`,
    )
  const claims = new Map<string, { epsilon: number; delta: number } | null>()
  for (const r of committed) {
    for (const input of r.commit!.body.inputs) {
      const dp = r.accepted.get(input.site)?.dpSgd
      const claim = dp !== undefined && 'claim' in dp ? dp.claim : undefined
      if (claims.get(input.site) === null) continue
      claims.set(input.site, claim === undefined ? null : { epsilon: claim.epsilon, delta: claim.delta })
    }
  }
  const covered = [...claims].filter((c): c is [string, { epsilon: number; delta: number }] => c[1] !== null).sort(([a], [b]) => (a < b ? -1 : 1))
  const uncovered = [...claims]
    .filter(([, c]) => c === null)
    .map(([site]) => site)
    .sort()
  for (const [site, c] of covered)
    terms.push(
      `Patient-level DP-SGD at site "${site}": every update it contributed claims it; its last claim: ε ${c.epsilon.toPrecision(4)} at δ ${c.delta} (the site's own account; the training itself is not checkable from the log).`,
    )
  if (covered.length > 0 && uncovered.length > 0) terms.push(`Without patient-level DP-SGD in at least one round: ${uncovered.map((s) => `"${s}"`).join(', ')}.`)
  if (terms.length === 0) terms.push('No differential privacy: the deltas and this model carry no formal privacy guarantee against membership or reconstruction attacks.')
  return terms
}
