import { describe, expect, it } from 'vitest'
import {
  checkpointVerifierKey,
  cosignCheckpoint,
  cosignatureLine,
  decodeSignedCheckpoint,
  encodeSignedCheckpoint,
  formatSignatureLine,
  logOrigin,
  openCheckpoint,
  openCosignatures,
  parseNote,
  readCheckpoint,
  sha256,
  signCheckpoint,
  signerFromSeed,
  splitViewProof,
  verifyMisbehaviourProof,
  witnessKeyName,
  withCosignatures,
} from '../../../ledger/core/index.ts'

const coordinator = signerFromSeed(new Uint8Array(32).fill(1))
const witness = signerFromSeed(new Uint8Array(32).fill(2))
const origin = logOrigin('cardio-risk')
const root = sha256(new TextEncoder().encode('root'))
const signed = signCheckpoint(coordinator, { origin, size: 1234, root })

describe('checkpoint as a C2SP signed note', () => {
  it('has the body <origin>\\n<size>\\n<base64 root>\\n and one signature line named by the origin', () => {
    // Execute
    const note = parseNote(signed.note)
    // Assert
    expect(note.text).toBe(`fedlineage.example/study/cardio-risk\n1234\n${Buffer.from(root).toString('base64')}\n`)
    expect(note.signatures).toHaveLength(1)
    expect(note.signatures[0]!.name).toBe(origin)
    expect(checkpointVerifierKey(origin, coordinator.publicKey)).toMatch(/^fedlineage\.example\/study\/cardio-risk\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/)
    expect(`${note.signatures[0]!.keyId.toString(16).padStart(8, '0')}`).toBe(checkpointVerifierKey(origin, coordinator.publicKey).split('+')[1])
  })

  it('opens under the coordinator key, and not under another key or another origin', () => {
    // Execute + Assert
    expect(openCheckpoint(signed, coordinator.publicKey, origin)).toEqual({ origin, size: 1234, root })
    expect(() => openCheckpoint(signed, witness.publicKey)).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
    expect(() => openCheckpoint(signed, coordinator.publicKey, logOrigin('other'))).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
  })

  it('ignores signature lines of unknown keys, before or after its own', () => {
    // Prepare
    const [text, line] = signed.note.split('\n\n') as [string, string]
    const stranger = formatSignatureLine('someone.example/else', 0x01020304, new Uint8Array(64).fill(9))
    // Execute
    const withStrangers = { note: `${text}\n\n${stranger}\n${line}${stranger.replace('else', 'other')}\n` }
    // Assert
    expect(openCheckpoint(withStrangers, coordinator.publicKey, origin).size).toBe(1234)
  })

  it('refuses a note whose coordinator signature fails, and a body changed under it', () => {
    // Prepare
    const changedSize = { note: signed.note.replace('\n1234\n', '\n1235\n') }
    const sigStart = signed.note.lastIndexOf(' ') + 10
    const flipped = { note: signed.note.slice(0, sigStart) + (signed.note[sigStart] === 'A' ? 'B' : 'A') + signed.note.slice(sigStart + 1) }
    // Execute + Assert
    expect(() => openCheckpoint(changedSize, coordinator.publicKey)).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
    expect(() => openCheckpoint(flipped, coordinator.publicKey)).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
  })

  it.each([
    { desc: 'a size with a leading zero', body: `${origin}\n01234\n${Buffer.from(root).toString('base64')}\n` },
    { desc: 'a root of 31 bytes', body: `${origin}\n1234\n${Buffer.from(root.subarray(1)).toString('base64')}\n` },
    { desc: 'no root line', body: `${origin}\n1234\n` },
  ])('refuses a body with $desc', ({ body }) => {
    expect(() => readCheckpoint({ note: `${body}\n${signed.note.split('\n\n')[1]}` })).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
  })

  it('is stored and sent as the note text, UTF-8', () => {
    expect(new TextDecoder().decode(encodeSignedCheckpoint(signed))).toBe(signed.note)
    expect(decodeSignedCheckpoint(encodeSignedCheckpoint(signed))).toEqual(signed)
  })
})

describe('cosignature/v1', () => {
  const timestamp = 1_700_000_000
  const cosig = cosignCheckpoint(witness, signed, timestamp)

  it('signs "cosignature/v1\\ntime <t>\\n" and the body, and is a signature line of key ID ‖ uint64 BE time ‖ signature', () => {
    // Execute
    const line = cosignatureLine(cosig)
    const raw = Buffer.from(line.split(' ')[2]!, 'base64')
    // Assert
    expect(line.startsWith(`— ${witnessKeyName(witness.publicKey)} `)).toBe(true)
    expect(raw).toHaveLength(4 + 8 + 64)
    expect(raw.readBigUInt64BE(4)).toBe(BigInt(timestamp))
    expect(raw.subarray(12).equals(Buffer.from(cosig.signature))).toBe(true)
  })

  it('rides on the checkpoint note as one more line, which the coordinator check ignores and the witness check reads back', () => {
    // Execute
    const cosigned = withCosignatures(signed, [cosig])
    // Assert
    expect(parseNote(cosigned.note).signatures).toHaveLength(2)
    expect(openCheckpoint(cosigned, coordinator.publicKey, origin).size).toBe(1234)
    expect(openCosignatures(cosigned, [witness.publicKey])).toEqual([cosig])
    expect(openCosignatures(cosigned, [coordinator.publicKey])).toEqual([])
  })

  it('refuses a cosignature line whose timestamp was changed', () => {
    // Prepare
    const forged = withCosignatures(signed, [{ ...cosig, timestamp: timestamp + 1 }])
    // Execute + Assert
    expect(() => openCosignatures(forged, [witness.publicKey])).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
  })
})

describe('split-view proof of notes', () => {
  it('proves two notes of one origin and size with different roots, signed by the coordinator', () => {
    // Prepare
    const other = signCheckpoint(coordinator, { origin, size: 1234, root: sha256(root) })
    // Execute
    const proof = splitViewProof(signed, other)!
    // Assert
    expect(() => verifyMisbehaviourProof(proof, coordinator.publicKey)).not.toThrow()
    expect(() => verifyMisbehaviourProof(proof, witness.publicKey)).toThrow(expect.objectContaining({ code: 'LEDGER_MISBEHAVIOUR_PROOF_INVALID' }))
  })
})
