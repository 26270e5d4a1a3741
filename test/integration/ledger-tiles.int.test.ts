/**
 * The log as c2sp.org/tlog-tiles over real HTTP and LevelDB: a ledger of 600
 * entries served by `tileResponse` on web/'s read-only server, mirrored back
 * with `mirrorLog` into a fresh store; tampered tiles, bundles and keys are
 * refused with typed errors and leave the mirror empty. Entries over 65,535
 * bytes are refused at append.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  FULL_TILE_CACHE_CONTROL,
  Ledger,
  PARTIAL_TILE_CACHE_CONTROL,
  RFC6962_SHA256,
  decodeEntryBundle,
  hashLeaf,
  joinTileHashes,
  mirrorLog,
  openLevelStorage,
  rootOf,
  tileResponse,
} from '../../ledger/index.ts'
import { startHttpServer } from '../../web/index.ts'
import { createLedger, createTempDir, testDrafts, testSigner } from '../helpers/ledger.ts'

const ORIGIN = 'fedlineage.example/study/tiles'
const SIZE = 600

/** A ledger of SIZE entries with a checkpoint, served over HTTP; `tamper` may rewrite a response body by path. */
async function servedLog(tamper?: (path: string, body: Uint8Array | string) => Uint8Array | string, init: { readonly tamperCompressed?: boolean } = {}) {
  const f = await createLedger()
  await f.ledger.append(f.signer, testDrafts(SIZE))
  await f.ledger.checkpoint(f.signer, ORIGIN)
  const server = await startHttpServer(
    '127.0.0.1',
    0,
    async (req, res, url) => {
      // A tampering server sends bundles uncompressed, so that the flipped byte is the entry's.
      const r = await tileResponse(f.ledger, url.pathname, tamper && !init.tamperCompressed ? '' : req.headers['accept-encoding'])
      const body = tamper ? tamper(url.pathname, r.body) : r.body
      res.writeHead(r.status, { 'Content-Type': r.contentType, 'Cache-Control': r.cacheControl, ...(r.contentEncoding ? { 'Content-Encoding': r.contentEncoding } : {}) })
      res.end(body)
    },
    (err) => {
      throw err
    },
  )
  onTestFinished(() => server.close())
  return { ...f, url: `http://127.0.0.1:${server.port}` }
}

async function emptyMirror(): Promise<Ledger> {
  const ledger = await Ledger.open(await openLevelStorage(await createTempDir()))
  onTestFinished(() => ledger.close())
  return ledger
}

const flipByte = (body: Uint8Array | string, at: number) => {
  const b = new Uint8Array(body as Uint8Array)
  b[at] = b[at]! ^ 1
  return b
}

describe('tlog-tiles served from the ledger', () => {
  it('serves the checkpoint, hash tiles from stored nodes and entry bundles, with caching by fullness', async () => {
    // Prepare
    const f = await servedLog()
    const entries: Uint8Array[] = []
    for await (const { bytes } of f.ledger.scan()) entries.push(bytes)
    const leaves = entries.map(hashLeaf)

    // Execute
    const get = (p: string) => fetch(f.url + p)
    const [cp, full, partial, level1, bundle, beyond, bad] = await Promise.all([
      get('/checkpoint'),
      get('/tile/0/000'),
      get('/tile/0/002.p/88'),
      get('/tile/1/000.p/2'),
      get('/tile/entries/001'),
      get('/tile/0/002'),
      get('/tile/0/2'),
    ])

    // Assert
    expect(cp.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await cp.text()).toBe((await f.ledger.latestCheckpoint())!.note)
    expect(full.headers.get('cache-control')).toBe(FULL_TILE_CACHE_CONTROL)
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(joinTileHashes(leaves.slice(0, 256)))
    expect(partial.headers.get('cache-control')).toBe(PARTIAL_TILE_CACHE_CONTROL)
    expect(new Uint8Array(await partial.arrayBuffer())).toEqual(joinTileHashes(leaves.slice(512, 600)))
    // A level-1 hash is the root of a full level-0 tile (tree level 8).
    expect(new Uint8Array(await level1.arrayBuffer())).toEqual(joinTileHashes([rootOf(RFC6962_SHA256, leaves.slice(0, 256)), rootOf(RFC6962_SHA256, leaves.slice(256, 512))]))
    expect(bundle.headers.get('content-type')).toBe('application/octet-stream')
    expect(bundle.headers.get('content-encoding')).toBe('gzip')
    expect((await tileResponse(f.ledger, '/tile/entries/001', 'gzip;q=0, identity')).contentEncoding).toBeUndefined()
    expect((await tileResponse(f.ledger, '/tile/0/000', 'gzip')).contentEncoding).toBeUndefined()
    expect(decodeEntryBundle(new Uint8Array(await bundle.arrayBuffer()), 256)).toEqual(entries.slice(256, 512))
    expect(beyond.status).toBe(404)
    expect(bad.status).toBe(400)
  })

  it('serves nothing past the newest checkpoint', async () => {
    // Prepare
    const f = await servedLog()
    await f.ledger.append(f.signer, testDrafts(10, SIZE))

    // Execute
    const tile = await fetch(`${f.url}/tile/0/002.p/89`)

    // Assert
    expect(tile.status).toBe(404)
    expect((await fetch(`${f.url}/tile/0/002.p/88`)).status).toBe(200)
  })

  it('mirrors the log from tiles into a store equal to the original', async () => {
    // Prepare
    const f = await servedLog()
    const into = await emptyMirror()
    const seen: number[] = []

    // Execute
    const result = await mirrorLog({ url: f.url, logKey: f.signer.publicKey, origin: ORIGIN, into, onProgress: (done) => seen.push(done) })

    // Assert
    expect(result.checkpoint.size).toBe(SIZE)
    expect(result).toMatchObject({ bundles: 3, tiles: 4 })
    expect(into.length).toBe(SIZE)
    expect(into.headHash).toEqual(f.ledger.headHash)
    expect(await into.root()).toEqual(await f.ledger.root())
    expect((await into.latestCheckpoint())!.note).toBe((await f.ledger.latestCheckpoint())!.note)
    expect(seen.at(-1)).toBe(1 + 4 + 3)
  })

  it.each([
    { desc: 'a flipped bit in a level-0 tile', path: '/tile/0/001', at: 40, code: 'LEDGER_TILE_MISMATCH' },
    { desc: 'a flipped bit in a partial level-1 tile', path: '/tile/1/000.p/2', at: 33, code: 'LEDGER_TILE_MISMATCH' },
    { desc: 'a truncated partial tile', path: '/tile/0/002.p/88', at: -1, code: 'LEDGER_TILE_MISMATCH' },
    { desc: 'a changed entry', path: '/tile/entries/000', at: 30, code: 'LEDGER_CHECKPOINT_ROOT_MISMATCH' },
    { desc: 'a changed checkpoint', path: '/checkpoint', at: 0, code: 'LEDGER_CHECKPOINT_INVALID' },
  ])('refuses $desc with $code and stores nothing', async ({ path, at, code }) => {
    // Prepare
    const f = await servedLog((p, body) => (p !== path ? body : at < 0 ? (body as Uint8Array).subarray(0, 32) : typeof body === 'string' ? body.replace(ORIGIN, `${ORIGIN}x`) : flipByte(body, at)))
    const into = await emptyMirror()

    // Execute
    const mirrored = mirrorLog({ url: f.url, logKey: f.signer.publicKey, into })

    // Assert
    await expect(mirrored).rejects.toMatchObject({ code })
    expect(into.length).toBe(0)
  })

  it('refuses a gzipped bundle that does not inflate with LEDGER_TILE_FETCH_FAILED', async () => {
    // Prepare: a byte of the compressed stream flipped near its end (its CRC-32 then fails).
    const f = await servedLog((p, body) => (p === '/tile/entries/000' ? flipByte(body, (body as Uint8Array).length - 6) : body), { tamperCompressed: true })
    const into = await emptyMirror()

    // Execute
    const mirrored = mirrorLog({ url: f.url, logKey: f.signer.publicKey, into })

    // Assert
    await expect(mirrored).rejects.toMatchObject({ code: 'LEDGER_TILE_FETCH_FAILED', url: `${f.url}/tile/entries/000` })
    expect(into.length).toBe(0)
  })

  it('refuses to mirror into a store that already holds a log', async () => {
    const f = await servedLog()
    const into = await emptyMirror()
    await into.append(f.signer, testDrafts(1))
    await expect(mirrorLog({ url: f.url, logKey: f.signer.publicKey, into })).rejects.toMatchObject({ code: 'LEDGER_INVALID_ARGUMENT' })
    expect(into.length).toBe(1)
  })

  it('refuses a log signed by another key', async () => {
    const f = await servedLog()
    await expect(mirrorLog({ url: f.url, logKey: testSigner(2).publicKey, into: await emptyMirror() })).rejects.toMatchObject({ code: 'LEDGER_CHECKPOINT_INVALID' })
  })
})

describe('entries fit the tiles format', () => {
  it('refuses at append an entry over 65,535 bytes, naming it, and writes nothing', async () => {
    // Prepare
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(2))
    const big = { kind: 'test-record', timeMs: 1, body: { blob: new Uint8Array(70_000) } }

    // Execute
    const appended = f.ledger.append(f.signer, [...testDrafts(1, 2), big])

    // Assert
    await expect(appended).rejects.toMatchObject({ code: 'LEDGER_ENTRY_TOO_LARGE', seq: 3, kind: 'test-record', maxBytes: 65_535 })
    expect(f.ledger.length).toBe(2)
    await f.ledger.append(f.signer, [{ kind: 'test-record', timeMs: 1, body: { blob: new Uint8Array(65_000) } }])
    expect(f.ledger.length).toBe(3)
  })
})
