import { describe, expect, it } from 'vitest'
import {
  MAX_NOTE_SIGNATURES,
  NOTE_KEY_TYPE_ED25519,
  formatNote,
  formatSignatureLine,
  formatVerifierKey,
  noteKeyId,
  parseNote,
  parseVerifierKey,
  signerFromSeed,
  toHex,
} from '../../../ledger/core/index.ts'

/**
 * The signed-note spec's example (https://c2sp.org/signed-note), the same as
 * golang.org/x/mod/sumdb/note's example_test.go: PeterNeumann's keys and the
 * note they sign, copied verbatim. The private key string is
 * PRIVATE+KEY+PeterNeumann+c74f20a3+base64(0x01 ‖ seed).
 */
const SPEC = {
  skeyBase64: 'AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz',
  vkey: 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  text: "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
  note:
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n" +
    '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n',
}
const specSigner = signerFromSeed(Buffer.from(SPEC.skeyBase64, 'base64').subarray(1))

describe('signed note: the spec example', () => {
  it('derives the key ID c74f20a3 and the verifier key string from the key', () => {
    // Execute
    const vkey = formatVerifierKey('PeterNeumann', NOTE_KEY_TYPE_ED25519, specSigner.publicKey)
    // Assert
    expect(noteKeyId('PeterNeumann', NOTE_KEY_TYPE_ED25519, specSigner.publicKey).toString(16)).toBe('c74f20a3')
    expect(vkey).toBe(SPEC.vkey)
  })

  it('signs the example text into the example note, byte for byte', () => {
    // Execute
    const line = formatSignatureLine('PeterNeumann', 0xc74f20a3, specSigner.sign(new TextEncoder().encode(SPEC.text)))
    // Assert
    expect(formatNote(SPEC.text, [line])).toBe(SPEC.note)
  })

  it('parses the example note into its text and one signature by c74f20a3', () => {
    // Execute
    const note = parseNote(SPEC.note)
    // Assert
    expect(note.text).toBe(SPEC.text)
    expect(note.signatures).toHaveLength(1)
    expect(note.signatures[0]).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3 })
    expect(note.signatures[0]!.signature).toHaveLength(64)
  })

  it('parses the verifier key and checks its key ID', () => {
    // Execute
    const key = parseVerifierKey(SPEC.vkey)
    // Assert
    expect(key).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3, type: NOTE_KEY_TYPE_ED25519 })
    expect(toHex(key.publicKey)).toBe(toHex(specSigner.publicKey))
    expect(() => parseVerifierKey(SPEC.vkey.replace('c74f20a3', 'c74f20a4'))).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
    expect(() => parseVerifierKey('PeterNeumann+c74f20a3')).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
  })
})

describe('signed note: verifier keys whose base64 holds "+"', () => {
  it('splits the name at the first "+" and the key ID at the second, the rest is the key', () => {
    // Prepare: find a key whose base64 has a "+" in it
    let seed = 0
    let vkey = ''
    for (; !vkey.split('+').slice(2).join('+').includes('+'); seed++) vkey = formatVerifierKey('example.com/log', NOTE_KEY_TYPE_ED25519, signerFromSeed(new Uint8Array(32).fill(seed)).publicKey)
    // Execute
    const key = parseVerifierKey(vkey)
    // Assert
    expect(key.name).toBe('example.com/log')
    expect(toHex(key.publicKey)).toBe(toHex(signerFromSeed(new Uint8Array(32).fill(seed - 1)).publicKey))
  })
})

describe('signed note: parsing by the spec', () => {
  const line = (name: string, id: number) => formatSignatureLine(name, id, new Uint8Array(64).fill(7))

  it('splits at the last blank line', () => {
    // Prepare: what comes before the last blank line is text (as in Go's note.Open), signature-like or not
    const twoBlocks = `${SPEC.text}\n${line('a', 1)}\n\n${line('b', 2)}\n`
    // Execute
    const note = parseNote(twoBlocks)
    // Assert
    expect(note.text).toBe(`${SPEC.text}\n${line('a', 1)}\n`)
    expect(note.signatures.map((s) => s.name)).toEqual(['b'])
    expect(parseNote(`${SPEC.text}\n${line('a', 1)}\n${line('b', 2)}\n`).signatures.map((s) => s.name)).toEqual(['a', 'b'])
  })

  it(`accepts ${MAX_NOTE_SIGNATURES} signature lines (the spec asks for at least 16) and refuses one more`, () => {
    // Prepare
    const lines = (n: number) => Array.from({ length: n }, (_, i) => line(`w${i}`, i))
    // Execute + Assert
    expect(parseNote(formatNote(SPEC.text, lines(16))).signatures).toHaveLength(16)
    expect(parseNote(formatNote(SPEC.text, lines(MAX_NOTE_SIGNATURES))).signatures).toHaveLength(MAX_NOTE_SIGNATURES)
    expect(() => parseNote(formatNote(SPEC.text, lines(MAX_NOTE_SIGNATURES + 1)))).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
  })

  it.each([
    { desc: 'no blank line', note: `${SPEC.text}${line('a', 1)}\n` },
    { desc: 'no signature', note: `${SPEC.text}\n` },
    { desc: 'no final newline', note: `${SPEC.text}\n${line('a', 1)}` },
    { desc: 'a line without the em dash', note: `${SPEC.text}\n- a AAAAAQcH\n` },
    { desc: 'a name with a "+"', note: `${SPEC.text}\n${line('a+b', 1)}\n` },
    { desc: 'base64 of 4 bytes (a key ID, no signature)', note: `${SPEC.text}\n— a AAAAAQ==\n` },
    { desc: 'base64 that is not', note: `${SPEC.text}\n— a AAAA*Q==\n` },
    { desc: 'a control character', note: `${SPEC.text.replace('If', 'I\tf')}\n${line('a', 1)}\n` },
  ])('refuses a note with $desc', ({ note }) => {
    expect(() => parseNote(note)).toThrow(expect.objectContaining({ code: 'LEDGER_CHECKPOINT_INVALID' }))
  })
})
