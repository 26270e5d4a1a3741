/**
 * A connection lost in the middle of an upload is no refusal of the site's
 * update: nothing is logged against the site, the envelope is not spent, and
 * the same signed envelope sent again is accepted. An upload the site itself
 * ends short is still refused, and logged.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sha256, toHex } from '../../ledger/index.ts'
import type { StudySpecInput } from '../../models/index.ts'
import { decodeStatement, signStatement } from '../../protocol/index.ts'
import { createFederationClient, WIRE_CHUNK_BYTES } from '../../protos/index.ts'
import { CoordinatorClient } from '../../site-agent/index.ts'
import { openRoundWithEnvelopes, loggedRejections } from '../helpers/federation.ts'

/** A federation with round 1 open, and site 0's valid signed envelope for a delta of the study model. */
async function roundWithEnvelope(study: Partial<StudySpecInput> = {}, uploadIdleMs?: number) {
  const { fed, delta, envelopes } = await openRoundWithEnvelopes({ study, ...(uploadIdleMs === undefined ? {} : { uploadIdleMs }) })
  return { fed, site: fed.sites[0]!, delta, envelope: envelopes[0]! }
}

describe('an upload cut off by the client', () => {
  it('logs nothing against the site and accepts the same envelope when it is sent again', async () => {
    // Prepare: a delta of more than one chunk.
    const { fed, site, delta, envelope } = await roundWithEnvelope({ model: { kind: 'mlp', hidden: [512, 512] } })
    expect(delta.length).toBeGreaterThan(WIRE_CHUNK_BYTES)

    // Execute: the envelope and the first chunk, then the client goes away; then the agent's client sends it all.
    const raw = createFederationClient(fed.coordinator.address)
    const cut = await new Promise<string>((resolve) => {
      const call = raw.UploadUpdate((err) => resolve(err ? String(err.code) : 'ACCEPTED'))
      call.write({ envelope })
      call.write({ data: delta.subarray(0, WIRE_CHUNK_BYTES) }, () => setTimeout(() => call.cancel(), 50))
    })
    raw.close()
    const client = new CoordinatorClient(fed.coordinator.address)
    const again = await client.uploadUpdate(envelope, delta)
    client.close()

    // Assert
    expect(cut).toBe('1') // CANCELLED, as the client saw it
    expect(await loggedRejections(fed)).toEqual([])
    expect(again.round).toBe(1)
    expect(fed.coordinator.runner.state.openRound?.accepted.has(site.id)).toBe(true)
  })

  it('still refuses, and logs, an upload the site itself ended short', async () => {
    // Prepare
    const { fed, delta, envelope } = await roundWithEnvelope()

    // Execute: half the delta, then a clean end of the stream.
    const raw = createFederationClient(fed.coordinator.address)
    const code = await new Promise<string>((resolve) => {
      const call = raw.UploadUpdate((err) => resolve(err ? String(err.details).split(':')[0]! : 'ACCEPTED'))
      call.write({ envelope })
      call.write({ data: delta.subarray(0, delta.length >> 1) })
      call.end()
    })
    raw.close()

    // Assert
    expect(code).toBe('COORD_DELTA_INTEGRITY')
    expect(await loggedRejections(fed)).toEqual(['COORD_DELTA_INTEGRITY'])
  })

  it('drops an upload that stalls, unlogged, so the same envelope can be sent again', async () => {
    // Prepare: a 300 ms idle limit.
    const { fed, site, delta, envelope } = await roundWithEnvelope({}, 300)

    // Execute: the envelope, then nothing.
    const raw = createFederationClient(fed.coordinator.address)
    const t0 = performance.now()
    const stalled = await new Promise<string>((resolve) => {
      const call = raw.UploadUpdate((err) => resolve(err ? `${err.code} ${String(err.details).split(':')[0]}` : 'ACCEPTED'))
      call.write({ envelope })
    })
    const ms = performance.now() - t0
    raw.close()
    const client = new CoordinatorClient(fed.coordinator.address)
    const again = await client.uploadUpdate(envelope, delta)
    client.close()

    // Assert
    expect(stalled).toBe('4 COORD_UPLOAD_STALLED') // DEADLINE_EXCEEDED
    expect(ms).toBeLessThan(3000)
    expect(await loggedRejections(fed)).toEqual([])
    expect(again.round).toBe(1)
    expect(fed.coordinator.runner.state.openRound?.accepted.has(site.id)).toBe(true)
  })

  it('refuses a message larger than one upload chunk at the transport, before it is buffered', async () => {
    // Prepare
    const { fed, envelope } = await roundWithEnvelope()
    // Execute: one 5 MiB data message.
    const raw = createFederationClient(fed.coordinator.address)
    const code = await new Promise<number | undefined>((resolve) => {
      const call = raw.UploadUpdate((err) => resolve(err?.code))
      call.write({ envelope })
      call.write({ data: new Uint8Array(5 * 1024 * 1024) })
      call.end()
    })
    raw.close()
    // Assert
    expect(code).toBe(8) // RESOURCE_EXHAUSTED
    expect(await loggedRejections(fed)).toEqual([])
  })
})

describe('an upload on disk', () => {
  it('is streamed into a temp file that the log takes as the delta blob; a refused or cut-off upload leaves no file behind', async () => {
    // Prepare: a delta of several chunks, and a copy with one NaN, signed by another site (refused).
    const { fed, site, delta, envelope } = await roundWithEnvelope({ model: { kind: 'mlp', hidden: [512, 512] } })
    const blobs = path.join(fed.dir, 'ledger', 'blobs')
    const other = fed.sites[1]!
    const bad = Uint8Array.from(delta)
    new DataView(bad.buffer).setFloat32(bad.length - 4, Number.NaN, true)
    const badEnvelope = signStatement(other.signer, { ...decodeStatement('update', envelope.body), site: other.id, delta: sha256(bad), nonce: new Uint8Array(16).fill(4) })

    // Execute: a cut-off upload, the refused one, then the whole good one.
    const raw = createFederationClient(fed.coordinator.address)
    await new Promise<void>((resolve) => {
      const call = raw.UploadUpdate(() => resolve())
      call.write({ envelope })
      call.write({ data: delta.subarray(0, WIRE_CHUNK_BYTES) }, () => setTimeout(() => call.cancel(), 50))
    })
    raw.close()
    const client = new CoordinatorClient(fed.coordinator.address)
    const refused = await client.uploadUpdate(badEnvelope, bad).then(
      () => 'accepted',
      (err: { remoteCode?: string }) => err.remoteCode,
    )
    await client.uploadUpdate(envelope, delta)
    client.close()

    // Assert
    expect(refused).toBe('COORD_NON_FINITE')
    expect(await readdir(path.join(blobs, 'tmp'))).toEqual([])
    expect(new Uint8Array(await readFile(path.join(blobs, toHex(sha256(delta)))))).toEqual(delta)
    expect(fed.coordinator.runner.state.openRound?.accepted.has(site.id)).toBe(true)
  })
})
