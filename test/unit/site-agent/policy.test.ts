/** site-agent/policy.ts: the site's own rules, checked before anything leaves it. */
import { describe, expect, it } from 'vitest'
import { StudySpecSchema, inputWidth, modelShapes } from '../../../models/index.ts'
import { SitePolicySchema, checkApprovalPolicy, checkEvaluationPolicy, checkRoundPolicy, checkStudyPolicy, parameterCount } from '../../../site-agent/index.ts'
import { SYNTHETIC_STUDY } from '../../helpers/audit.ts'

const spec = StudySpecSchema.parse(SYNTHETIC_STUDY)
const shapes = modelShapes(spec.model, inputWidth(spec.data))
const policy = (v: unknown = {}) => SitePolicySchema.parse(v)

describe('site policy', () => {
  it('defaults to permissive with a floor of 10 records per round', () => {
    expect(policy()).toEqual({ requireApproval: false, minRecordsPerRound: 10, minValidationRecords: 0 })
    expect(checkStudyPolicy(policy(), spec, shapes)).toBeUndefined()
    expect(checkRoundPolicy(policy(), 1, 10)).toBeUndefined()
    expect(checkRoundPolicy(policy(), 1, 9)?.code).toBe('SITE_POLICY_MIN_RECORDS')
  })

  it.each([
    ['a model kind not allowed', { allowedModels: { kinds: ['mlp'] } }, 'SITE_POLICY_MODEL'],
    ['more parameters than allowed', { allowedModels: { maxParameters: parameterCount(shapes) - 1 } }, 'SITE_POLICY_MODEL'],
    ['a strategy not allowed', { allowedStrategies: ['fedprox'] }, 'SITE_POLICY_STRATEGY'],
  ])('refuses a study with %s', (_what, p, code) => {
    expect(checkStudyPolicy(policy(p), spec, shapes)?.code).toBe(code)
  })

  it('allows exactly the parameter ceiling and a listed kind and strategy', () => {
    expect(checkStudyPolicy(policy({ allowedModels: { kinds: ['logreg'], maxParameters: parameterCount(shapes) }, allowedStrategies: ['fedavg'] }), spec, shapes)).toBeUndefined()
  })

  it('refuses a round beyond maxRounds, and metrics below the validation floor', () => {
    expect(checkRoundPolicy(policy({ maxRounds: 2 }), 3, 100)?.code).toBe('SITE_POLICY_MAX_ROUNDS')
    expect(checkRoundPolicy(policy({ maxRounds: 2 }), 2, 100)).toBeUndefined()
    expect(checkEvaluationPolicy(policy({ minValidationRecords: 30 }), 1, 100, 29)?.code).toBe('SITE_POLICY_MIN_VALIDATION')
    expect(checkEvaluationPolicy(policy({ minValidationRecords: 30 }), 1, 100, 30)).toBeUndefined()
  })

  it('refuses another spec hash always, and no approval only when one is required', () => {
    const a = new Uint8Array(32).fill(1)
    const b = new Uint8Array(32).fill(2)
    expect(checkApprovalPolicy(a, a, true, 'approve it')).toBeUndefined()
    expect(checkApprovalPolicy(a, undefined, false, 'approve it')).toBeUndefined()
    expect(checkApprovalPolicy(a, b, false, 'approve it')?.code).toBe('SITE_SPEC_UNAPPROVED')
    const missing = checkApprovalPolicy(a, undefined, true, 'approve it')
    expect(missing?.code).toBe('SITE_SPEC_UNAPPROVED')
    expect(missing?.reason).toContain('0101')
  })
})
