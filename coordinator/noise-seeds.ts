/**
 * The coordinator's private store of DP noise seeds: one secret 32-byte seed
 * per DP round, drawn from node:crypto's CSPRNG before the round opens. The
 * log holds only each seed's SHA-256 (`round-opened`'s `dp.seed`), so a
 * replica holder cannot re-create, and so cannot subtract, the noise. The
 * seeds live beside the log in `dp-seeds.json` (mode 0600), never in the
 * blob store that replication serves; the file is what an authorised auditor
 * is given (`fedlineage audit --dp-seeds FILE`) to re-derive DP models bit
 * for bit.
 *
 * File format (protocol/dp-audit.ts): `{ "seeds": ["<64 hex digits>", …] }`, in the order drawn.
 * Each write replaces the file atomically (write, fsync, rename), and a seed
 * is written before the round that uses it is decided, so a restart never
 * meets a logged commitment whose seed was lost.
 */
import { randomBytes } from 'node:crypto'
import { open, readFile, rename } from 'node:fs/promises'
import { sha256, toHex } from '../ledger/index.ts'
import { encodeNoiseSeeds, parseNoiseSeeds } from '../protocol/index.ts'
import { CoordinatorStoreError } from './errors.ts'

export interface NoiseSeedStore {
  /** The seed whose SHA-256 is `hash`, if this store drew it. */
  get(hash: Uint8Array): Uint8Array | undefined
  /** A fresh secret seed, durably stored before it is returned. */
  draw(): Promise<Uint8Array>
}

/** The seed store in `file`, created on the first draw. */
export async function openNoiseSeedStore(file: string): Promise<NoiseSeedStore> {
  let seeds: Map<string, Uint8Array>
  try {
    seeds = new Map(parseNoiseSeeds(await readFile(file, 'utf8'), file))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CoordinatorStoreError(`DP noise seeds ${file}: ${(err as Error).message}`, { cause: err })
    seeds = new Map()
  }
  return {
    get: (hash) => seeds.get(toHex(hash)),
    async draw() {
      const seed = new Uint8Array(randomBytes(32))
      const next = new Map(seeds).set(toHex(sha256(seed)), seed)
      const tmp = `${file}.tmp`
      try {
        const handle = await open(tmp, 'w', 0o600)
        try {
          await handle.writeFile(encodeNoiseSeeds([...next.values()]))
          await handle.sync()
        } finally {
          await handle.close()
        }
        await rename(tmp, file)
      } catch (err) {
        throw new CoordinatorStoreError(`DP noise seeds ${file}: could not store a new seed: ${(err as Error).message}; the round does not open`, { cause: err })
      }
      seeds = next
      return seed
    },
  }
}
