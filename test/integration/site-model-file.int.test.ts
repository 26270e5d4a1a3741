/**
 * The site keeps the global model it works on in a file, not in memory
 * (site-agent/model-file.ts): downloaded straight to disk over real gRPC and
 * hashed as it arrives, then read back whole or one tensor at a time. The
 * bytes and values must be exactly those of the in-memory download, and a
 * refused download must leave no file behind.
 */
import { randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { toHex } from '../../ledger/index.ts'
import { decodeWeights, inputWidth, modelShapes, type TensorShape } from '../../models/index.ts'
import { signStatement } from '../../protocol/index.ts'
import { CoordinatorClient, ModelFile, SiteModelIntegrityError } from '../../site-agent/index.ts'
import { createFederation, tempDir, type TestFederation } from '../helpers/federation.ts'

describe('a global model kept in a file of the state folder', () => {
  let fed: TestFederation
  let client: CoordinatorClient
  let token: Uint8Array
  let model: Uint8Array
  let shapes: readonly TensorShape[]

  beforeEach(async () => {
    fed = await createFederation({ siteCount: 2, autoAdvance: false, study: { model: { kind: 'mlp', hidden: [7, 5], activation: 'relu' } } })
    client = new CoordinatorClient(fed.coordinator.address)
    const site = fed.sites[0]!
    const hello = await client.hello(signStatement(site.signer, { t: 'hello', study: fed.config.study.id, site: site.id, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) }))
    token = new Uint8Array(hello.sessionToken)
    const status = await client.roundStatus(0)
    model = new Uint8Array(status.rounds.find((r) => r.round === '0')!.modelHash)
    shapes = modelShapes(fed.config.study.model, inputWidth(fed.config.study.data))
  })
  afterEach(() => client.close())

  it('holds the bytes of the in-memory download, and reads back its values whole and tensor by tensor', async () => {
    // Prepare
    const dir = await tempDir()
    const file = path.join(dir, `${toHex(model)}.flw`)
    // Execute
    const size = await client.downloadModelToFile(token, model, file)
    const opened = await ModelFile.open(file, toHex(model), shapes)
    const whole = await opened.readWeights()
    const read = opened.tensorReader()
    // Copied as read: the reader fills one buffer for every tensor.
    const byTensor = shapes.map((_, i) => Array.from(read(i)))
    // Assert
    const inMemory = await client.downloadModel(token, model)
    expect(size).toBe(inMemory.length)
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(inMemory))).toBe(true)
    const want = decodeWeights(inMemory, shapes)
    expect(whole.tensors.map((t) => [t.name, t.shape, Array.from(t.values)])).toEqual(want.tensors.map((t) => [t.name, t.shape, Array.from(t.values)]))
    expect(byTensor).toEqual(want.tensors.map((t) => Array.from(t.values)))
    const last = want.tensors.length - 1
    const n = want.tensors[last]!.values.length
    expect(Array.from(opened.readSlice(0, 3, 4))).toEqual(Array.from(want.tensors[0]!.values.subarray(3, 7)))
    expect(Array.from(opened.readSlice(last, n - 1, 1))).toEqual([want.tensors[last]!.values[n - 1]])
    expect(() => opened.readSlice(last, n - 1, 2)).toThrow(SiteModelIntegrityError)
    expect(await readdir(dir)).toEqual([`${toHex(model)}.flw`])
  })

  it('leaves no file, not even a partial one, when the download is refused (a model larger than the study allows)', async () => {
    // Prepare
    const dir = await tempDir()
    const file = path.join(dir, 'model.flw')
    const bytes = await client.downloadModel(token, model)
    // Execute
    const err = await client.downloadModelToFile(token, model, file, bytes.length - 1).catch((e: unknown) => e)
    // Assert
    expect(err).toBeInstanceOf(SiteModelIntegrityError)
    expect(await readdir(dir)).toEqual([])
  })

  it('refuses a file that is not of the study layout, naming it', async () => {
    // Prepare
    const dir = await tempDir()
    const file = path.join(dir, 'model.flw')
    await client.downloadModelToFile(token, model, file)
    const bytes = await readFile(file)
    // Execute / Assert: another layout, and the right size with a changed header.
    await expect(ModelFile.open(file, toHex(model), shapes.slice(1))).rejects.toThrow(SiteModelIntegrityError)
    bytes[9] = bytes[9]! ^ 1
    await writeFile(file, bytes)
    await expect(ModelFile.open(file, toHex(model), shapes)).rejects.toThrow(/header/)
  })
})
