import { describe, expect, it } from 'vitest'
import {
  NOTE_KEY_TYPE_COSIGNATURE_V1,
  consistencyProof,
  cosignCheckpoint,
  cosignatureLine,
  decodeTimestampedSignature,
  formatAddCheckpointRequest,
  logOrigin,
  parseAddCheckpointRequest,
  parseNote,
  parseVerifierKey,
  parseWitnessResponse,
  formatVerifierKey,
  rootOf,
  RFC6962_SHA256,
  signCheckpoint,
  signerFromSeed,
} from '../../../ledger/core/index.ts'

const coordinator = signerFromSeed(new Uint8Array(32).fill(1))
const witness = signerFromSeed(new Uint8Array(32).fill(2))
const origin = logOrigin('cardio-risk')
const leaves = Array.from({ length: 9 }, (_, i) => RFC6962_SHA256.hashLeaf(Uint8Array.of(i)))
const signed = signCheckpoint(coordinator, { origin, size: 9, root: rootOf(RFC6962_SHA256, leaves) })

describe('cosignature/v1 timestamp decoding (c2sp.org/tlog-cosignature example)', () => {
  it('reads time 1679315147 from the spec example line of witness.example.com/w1', () => {
    // Prepare: the signature line of the spec's example, whose signed message shows "time 1679315147".
    const line = '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=='
    const note = parseNote(`example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n${line}\n`)
    // Execute
    const sig = note.signatures[0]!
    const { timestamp, signature } = decodeTimestampedSignature(sig.signature)
    // Assert
    expect(sig.name).toBe('witness.example.com/w1')
    expect(sig.keyId).toBe(0x8d66cf3f)
    expect(timestamp).toBe(1679315147)
    expect(signature).toHaveLength(64)
  })

  it('refuses a signature of the wrong length and a timestamp beyond 2^53', () => {
    // Prepare
    const tooBig = new Uint8Array(72).fill(0xff)
    // Execute / Assert
    expect(() => decodeTimestampedSignature(new Uint8Array(71))).toThrow(expect.objectContaining({ code: 'LEDGER_WITNESS_RESPONSE_INVALID' }))
    expect(() => decodeTimestampedSignature(tooBig)).toThrow(expect.objectContaining({ code: 'LEDGER_WITNESS_RESPONSE_INVALID' }))
  })
})

describe('add-checkpoint request body (c2sp.org/tlog-witness)', () => {
  it('round-trips old size, proof lines, blank line and note, in the spec layout', () => {
    // Prepare
    const proof = consistencyProof(RFC6962_SHA256, leaves, 4, 9)
    // Execute
    const body = formatAddCheckpointRequest({ oldSize: 4, proof, checkpoint: signed })
    const back = parseAddCheckpointRequest(body)
    // Assert
    expect(body.split('\n')[0]).toBe('old 4')
    expect(body).toContain(`\n\n${signed.note.split('\n')[0]}`)
    expect(back.oldSize).toBe(4)
    expect(back.proof).toEqual(proof)
    expect(back.checkpoint.note).toBe(signed.note)
  })

  it('parses the spec example body: old 20852014, four proof lines', () => {
    // Prepare
    const body =
      'old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\n' +
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
      '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n' +
      '— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n'
    // Execute
    const req = parseAddCheckpointRequest(body)
    // Assert
    expect(req.oldSize).toBe(20852014)
    expect(req.proof.map((h) => Buffer.from(h).toString('base64'))[0]).toBe('PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=')
    expect(req.proof).toHaveLength(4)
  })

  it.each([
    ['no blank line', `old 0\n${signed.note.replace('\n\n', '\n')}`],
    ['leading zero in old size', `old 04\n\n${signed.note}`],
    ['no old line', `new 4\n\n${signed.note}`],
    ['a proof line that is not 32 bytes', `old 4\nAAAA\n\n${signed.note}`],
    ['64 proof lines', `old 4\n${'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n'.repeat(64)}\n${signed.note}`],
    ['a note without signatures', `old 0\n\n${parseNote(signed.note).text}`],
  ])('refuses %s as malformed', (_desc, body) => {
    // Execute / Assert
    expect(() => parseAddCheckpointRequest(body)).toThrow(expect.objectContaining({ code: 'LEDGER_WITNESS_REQUEST_MALFORMED' }))
  })
})

describe('witness response', () => {
  const name = 'witness.example/w1'
  const vkey = parseVerifierKey(formatVerifierKey(name, NOTE_KEY_TYPE_COSIGNATURE_V1, witness.publicKey))

  it('yields the cosignature of the witness key named in the response, ignoring other lines', () => {
    // Prepare
    const cosig = cosignCheckpoint(witness, signed, 1_700_000_000)
    const other = cosignatureLine(cosignCheckpoint(signerFromSeed(new Uint8Array(32).fill(3)), signed, 5))
    const body = `${other}\n${cosignatureLine(cosig, name)}\n`
    // Execute
    const got = parseWitnessResponse(signed, body, vkey)
    // Assert
    expect(got).toEqual([{ ...cosig, name }])
  })

  it('refuses a response with no line of the witness key, or one whose signature fails', () => {
    // Prepare
    const cosig = cosignCheckpoint(witness, signed, 1_700_000_000)
    const forged = cosignatureLine({ ...cosig, timestamp: cosig.timestamp + 1 }, name)
    // Execute / Assert
    expect(() => parseWitnessResponse(signed, `${cosignatureLine(cosig)}\n`, vkey)).toThrow(expect.objectContaining({ code: 'LEDGER_WITNESS_RESPONSE_INVALID' }))
    expect(() => parseWitnessResponse(signed, `${forged}\n`, vkey)).toThrow(expect.objectContaining({ code: 'LEDGER_WITNESS_RESPONSE_INVALID' }))
    expect(() => parseWitnessResponse(signed, 'not a line\n', vkey)).toThrow(expect.objectContaining({ code: 'LEDGER_WITNESS_RESPONSE_INVALID' }))
  })
})
