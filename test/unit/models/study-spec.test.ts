/**
 * The study spec's consent fields: `consent.purpose` requires a
 * `data.patientIdColumn`, and a spec without either parses (and encodes) as
 * before, so existing studies and their logged specs are unchanged.
 */
import { describe, expect, it } from 'vitest'
import { StudySpecSchema, type StudySpecInput } from '../../../models/core/index.ts'

const BASE: StudySpecInput = {
  id: 'spec-test',
  model: { kind: 'logreg' },
  data: { features: [{ name: 'age', type: 'numeric' }], label: { column: 'y', positive: ['1'] } },
  training: { learningRate: 0.1, batchSize: 8, localSteps: 2 },
  strategy: { name: 'fedavg' },
  rounds: 1,
  minSites: 1,
  roundDeadlineMs: 1000,
}

describe('study spec consent', () => {
  it('leaves a spec without consent as it was', () => {
    // Execute
    const spec = StudySpecSchema.parse(BASE)

    // Assert: no new keys appear, so the canonical spec bytes of existing studies do not change.
    expect(Object.keys(spec)).not.toContain('consent')
    expect(Object.keys(spec.data)).not.toContain('patientIdColumn')
  })

  it('accepts consent with a patient id column', () => {
    // Execute
    const spec = StudySpecSchema.parse({ ...BASE, data: { ...BASE.data, patientIdColumn: 'patient_id' }, consent: { purpose: 'HRESCH' } })

    // Assert
    expect(spec.consent).toEqual({ purpose: 'HRESCH' })
    expect(spec.data.patientIdColumn).toBe('patient_id')
  })

  it.each([
    ['consent without a patient id column', { ...BASE, consent: { purpose: 'HRESCH' } }, 'data.patientIdColumn'],
    ['a purpose with a space', { ...BASE, data: { ...BASE.data, patientIdColumn: 'pid' }, consent: { purpose: 'HR ESCH' } }, 'consent.purpose'],
    ['an empty purpose', { ...BASE, data: { ...BASE.data, patientIdColumn: 'pid' }, consent: { purpose: '' } }, 'consent.purpose'],
    ['an unknown consent field', { ...BASE, data: { ...BASE.data, patientIdColumn: 'pid' }, consent: { purpose: 'HRESCH', extra: 1 } }, 'consent'],
  ])('refuses %s, naming the field', (_what, input, field) => {
    // Execute
    const result = StudySpecSchema.safeParse(input)

    // Assert
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path.join('.')).toBe(field)
  })
})
