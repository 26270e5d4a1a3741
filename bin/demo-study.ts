/**
 * The demo's study, shared by `fedlineage demo` (on 127.0.0.1) and
 * `fedlineage demo --compose` (the files deploy/compose.yaml mounts): the
 * spec the hub defines, and each site's consent register, imported and
 * signed by the site's own consent office.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import type { HubConfigInput } from '../coordinator/index.ts'
import { writeIdentity } from '../ledger/index.ts'
import { noiseMultiplierFor } from '../models/index.ts'
import { SYNTHETIC_SCHEMA, consentImport } from '../site-agent/index.ts'

export const STUDY_ID = 'cardio-risk-demo'
/** HL7 v3 ActReason "healthcare research": what the patients consented to. */
export const CONSENT_PURPOSE = 'HRESCH'

/** The demo's site-level DP settings: each delta clipped to this L2 norm, δ, and the noise for the asked ε. */
export const DEMO_DP_CLIP_NORM = 1
export const DEMO_DP_DELTA = 1e-5

/** Site-level DP-FedAvg for the demo: every site each round (q = 1), noise sized for `epsilon` over `rounds`. */
export function demoDp(epsilon: number, rounds: number): { clipNorm: number; noiseMultiplier: number; delta: number; epsilon: number } {
  return { clipNorm: DEMO_DP_CLIP_NORM, noiseMultiplier: noiseMultiplierFor(epsilon, 1, rounds, DEMO_DP_DELTA), delta: DEMO_DP_DELTA, epsilon }
}

/**
 * The study as the hub defines it: `rounds` of FedAvg, the named auditor's
 * key, sites' approval required, the hospitals' witnesses' `witnessPolicy`
 * when given. With `dpEpsilon`, site-level DP-FedAvg
 * spends at most that ε; rewards are then by examples, since gain-based
 * rewards would score individual (un-noised) deltas. With
 * `secureAggregation`, the hub sees only the sum of the masked deltas
 * (with `dpEpsilon` too, the sites add the noise: distributed DP).
 */
export function demoStudy(rounds: number, auditorKeyHex: string, witnessPolicy?: string, dpEpsilon?: number, secureAggregation = false): HubConfigInput['study'] {
  // Shapley scores individual deltas: a DP study (whose deltas are noised only in sum) or one under secure aggregation (whose deltas the hub never sees) pays by examples.
  const byExamples = dpEpsilon !== undefined || secureAggregation
  return {
    ...(witnessPolicy === undefined ? {} : { witnessPolicy }),
    id: STUDY_ID,
    title: 'Cardiovascular risk, four hospitals (synthetic cohorts)',
    model: { kind: 'mlp', hidden: [16], activation: 'relu' },
    data: { ...SYNTHETIC_SCHEMA, patientIdColumn: 'patient_id' },
    consent: { purpose: CONSENT_PURPOSE },
    training: { optimizer: 'adam', learningRate: 0.01, batchSize: 32, localSteps: 40 },
    strategy: { name: 'fedavg', serverLearningRate: 1 },
    rounds,
    minSites: 3,
    roundDeadlineMs: 60_000,
    evaluationDeadlineMs: 30_000,
    seed: 7,
    rewards: byExamples ? { poolPerRound: '1000', method: 'examples' } : { poolPerRound: '1000', method: 'shapley', metric: 'neg-log-loss' },
    ...(dpEpsilon === undefined ? {} : { dp: demoDp(dpEpsilon, rounds) }),
    ...(secureAggregation ? { secureAggregation: {} } : {}),
    auditors: [{ name: 'regulator', publicKey: auditorKeyHex }],
    // Each site trains only once its data steward's approval of this exact spec is logged.
    requireApproval: true,
  }
}

/** Where a site's consent files go: its consent office's key, the register and store (data), the pseudonym secret (keys). */
export interface ConsentDirs {
  readonly authority: string
  readonly data: string
  readonly keys: string
}

/**
 * A site's consent register, as its consent office would export it, imported
 * and signed by the site's own consent authority: most patients consented to
 * research; some never did, some consents expired, a few withdrew, a few
 * start in the future.
 */
export async function importDemoConsents(dirs: ConsentDirs, siteId: string, patients: number): Promise<{ store: string; secret: string; authority: string }> {
  const authority = await writeIdentity(dirs.authority, `${siteId}-consent-office`, { force: true })
  const rows = ['patient_id,status,valid_from,valid_until,purposes']
  for (let k = 1; k <= patients; k++) {
    const id = `${siteId}-${k}`
    if (k % 17 === 0) continue // never asked, or declined: no record
    if (k % 23 === 0)
      rows.push(`${id},active,2019-01-01,2022-12-31,${CONSENT_PURPOSE}`) // expired
    else if (k % 29 === 0)
      rows.push(`${id},active,2019-01-01,,${CONSENT_PURPOSE}`, `${id},revoked,2019-01-01,2024-06-30,${CONSENT_PURPOSE}`) // consented, then withdrew
    else if (k % 31 === 0)
      rows.push(`${id},active,2999-01-01,,${CONSENT_PURPOSE}`) // not yet valid
    else rows.push(`${id},active,2020-01-01,,${CONSENT_PURPOSE}`)
  }
  await mkdir(dirs.data, { recursive: true })
  await mkdir(dirs.keys, { recursive: true, mode: 0o700 })
  const csv = path.join(dirs.data, `${siteId}-consents.csv`)
  await writeFile(csv, `${rows.join('\n')}\n`)
  const store = path.join(dirs.data, `${siteId}-consent-store.json`)
  const secret = path.join(dirs.keys, `${siteId}.pseudonym-secret`)
  const quiet = { stdout: new PassThrough(), stderr: new PassThrough(), setExitCode: () => undefined }
  await consentImport({ csv, store, secret, authorityKey: authority.keyFile, study: STUDY_ID }, quiet)
  return { store, secret, authority: authority.publicKeyHex }
}
