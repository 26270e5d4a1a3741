/**
 * The site's side of the Federation service, as promises and async
 * iterables. It knows the wire (chunking, the envelope-first upload, status
 * trailers) and nothing of training; errors come back as
 * `SiteRequestRejectedError` carrying the coordinator's stable code.
 */
import { createHash } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js'
import { equalBytes, toHex } from '../ledger/index.ts'
import { createFederationClient, errorCodeOf, WIRE_CHUNK_BYTES, type FederationClient, type HelloResponse__Output, type RoundStatusResponse__Output, type Task__Output } from '../protos/index.ts'
import { SiteModelIntegrityError, SiteRequestRejectedError } from './errors.ts'
import type { SignedStatement } from '../protocol/index.ts'

/** The coordinator's stable error code from a gRPC error (see protos/index.ts `errorCodeOf`). */
export const remoteCodeOf = errorCodeOf

/** True for failures that a retry after reconnecting can cure (coordinator down or restarting). */
export function isTransient(err: unknown): boolean {
  const code = (err as Partial<ServiceError> | undefined)?.code
  if (remoteCodeOf(err) === 'COORD_SESSION_INVALID') return true
  return code === status.UNAVAILABLE || code === status.CANCELLED || code === status.DEADLINE_EXCEEDED || code === status.UNKNOWN || code === status.INTERNAL
}

function rejected(what: string, err: unknown): SiteRequestRejectedError | unknown {
  const e = err as Partial<ServiceError>
  if (isTransient(err)) return err
  return new SiteRequestRejectedError(`${what}: ${e.details ?? e.message ?? String(err)}`, remoteCodeOf(err), { cause: err })
}

/**
 * The slowest transfer a site waits for, in bytes per second: deadlines are
 * a fixed allowance plus the bytes to move at this rate, so a 50M-parameter
 * model over a shared link is not cut off at a deadline sized for a small one.
 */
export const MIN_TRANSFER_BYTES_PER_SECOND = 1 << 20
/** The fixed part of a transfer's deadline. */
export const TRANSFER_ALLOWANCE_MS = 60_000
/** A download that receives nothing for this long is given up (and retried by the agent). */
export const DOWNLOAD_IDLE_MS = 60_000

/** A transfer's deadline: the allowance plus `bytes` at the slowest rate waited for. */
export function transferDeadlineMs(bytes: number): number {
  return TRANSFER_ALLOWANCE_MS + Math.ceil((1000 * bytes) / MIN_TRANSFER_BYTES_PER_SECOND)
}

/** Deadline of a unary call (hello, an evaluation report, a cosignature…), by default. */
export const REQUEST_TIMEOUT_MS = 10_000

/**
 * How long the client's unary calls may take. A call waits behind whatever
 * else shares the coordinator's and the site's event loops (in the
 * benchmarks, up to 1,000 sites in one process), so the caller scales
 * `requestMs` with that work; transfers scale with their bytes instead
 * (transferDeadlineMs).
 */
export interface ClientDeadlines {
  readonly requestMs: number
}

/** A delta to upload: its bytes, or a file of them read chunk by chunk (`DeltaFile`, with the bytes' length and SHA-256). */
export type DeltaSource = Uint8Array | { readonly length: number; readonly hash: Uint8Array; chunks(): AsyncIterable<Uint8Array> }

/** The chunks of an upload: views of bytes in memory, or the file's own chunks. */
async function* chunksOf(delta: DeltaSource): AsyncGenerator<Uint8Array> {
  if (!(delta instanceof Uint8Array)) {
    yield* delta.chunks()
    return
  }
  for (let offset = 0; offset < delta.length; offset += WIRE_CHUNK_BYTES) yield delta.subarray(offset, offset + WIRE_CHUNK_BYTES)
}

/** Where a download's bytes go: `begin` once with the announced size, then each chunk at its offset, in order. */
interface ModelSink {
  begin(totalBytes: number): void
  write(chunk: Uint8Array, offset: number): void | Promise<void>
}

export class CoordinatorClient {
  private readonly client: FederationClient
  /** Open task streams, cancelled by `close`. */
  private readonly taskStreams = new Set<{ cancel(): void }>()
  private readonly requestMs: number

  /** `credentials`: mutual TLS from `loadPartyTls` (pki/); plaintext when absent. */
  constructor(
    readonly address: string,
    credentials?: ChannelCredentials,
    deadlines: ClientDeadlines = { requestMs: REQUEST_TIMEOUT_MS },
  ) {
    // A connection of its own: grpc-js otherwise shares one connection among every client of the
    // same address in a process, and the coordinator allows 32 concurrent calls a connection (sized
    // for one site), so past ~16 in-process sites their task streams took every slot and the other
    // calls waited, unsent, until their deadline.
    this.client = createFederationClient(address, credentials, { 'grpc.use_local_subchannel_pool': 1 })
    this.requestMs = deadlines.requestMs
  }

  /** Closes the channel and cancels the task stream (grpc-js lets calls in flight outlive `close`), so a waiting site stops at once. */
  close(): void {
    for (const call of this.taskStreams) call.cancel()
    this.client.close()
  }

  hello(hello: SignedStatement, timeoutMs = this.requestMs): Promise<HelloResponse__Output> {
    return new Promise((resolve, reject) => this.client.Hello({ hello }, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(rejected('hello', err)) : resolve(res))))
  }

  /** The site's task stream; ends when the coordinator ends it, throws when the connection breaks. */
  async *tasks(sessionToken: Uint8Array): AsyncGenerator<Task__Output> {
    const call = this.client.Tasks({ sessionToken })
    this.taskStreams.add(call)
    try {
      for await (const task of call as AsyncIterable<Task__Output>) yield task
    } catch (err) {
      throw rejected('task stream', err)
    } finally {
      this.taskStreams.delete(call)
      call.cancel()
    }
  }

  /**
   * Downloads a model and checks it hashes to what was asked for. The model
   * is written into one buffer of its announced size as it arrives (one
   * copy, never a list of chunks plus their concatenation); no deadline
   * bounds the whole transfer, but one that stalls for DOWNLOAD_IDLE_MS is
   * cancelled, so a large model over a slow link is never cut off for its size.
   * `maxBytes` bounds what the coordinator may announce (the study model's size).
   */
  async downloadModel(sessionToken: Uint8Array, modelHash: Uint8Array, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
    let bytes: Uint8Array | undefined
    await this.receiveModel(sessionToken, modelHash, maxBytes, {
      begin: (total) => void (bytes = new Uint8Array(total)),
      write: (chunk, offset) => bytes!.set(chunk, offset),
    })
    return bytes ?? new Uint8Array(0)
  }

  /**
   * Downloads a model into the file `file` (created with mode 0600, or
   * replaced), as `downloadModel` does, but holding at most one chunk of it in
   * memory: hashed as it arrives, each chunk written before the next is
   * read. The file is written to `file + '.part'` and renamed into place
   * only once its hash checks; a failed download leaves no file. Resolves
   * with the model's size in bytes.
   */
  async downloadModelToFile(sessionToken: Uint8Array, modelHash: Uint8Array, file: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<number> {
    const partial = `${file}.part`
    const handle = await open(partial, 'w', 0o600)
    let total = 0
    try {
      await this.receiveModel(sessionToken, modelHash, maxBytes, {
        begin: (bytes) => void (total = bytes),
        write: async (chunk, offset) => void (await handle.write(chunk, 0, chunk.length, offset)),
      })
      await handle.close()
      await rename(partial, file)
      return total
    } catch (err) {
      await handle.close().catch(() => undefined)
      await rm(partial, { force: true })
      throw err
    }
  }

  /** The download loop: announced size checked against `maxBytes`, idle watchdog, every byte hashed, then the hash checked. */
  private async receiveModel(sessionToken: Uint8Array, modelHash: Uint8Array, maxBytes: number, sink: ModelSink): Promise<void> {
    const call = this.client.DownloadModel({ sessionToken, modelHash })
    let idle: NodeJS.Timeout | undefined
    const watch = () => {
      clearTimeout(idle)
      idle = setTimeout(() => call.cancel(), DOWNLOAD_IDLE_MS)
      idle.unref()
    }
    const what = `model ${toHex(modelHash).slice(0, 16)}…`
    const hash = createHash('sha256')
    let announced: number | undefined
    let received = 0
    try {
      watch()
      for await (const chunk of call as AsyncIterable<{ totalBytes: string; offset: string; data: Buffer }>) {
        watch()
        const total = Number(chunk.totalBytes)
        if (!Number.isSafeInteger(total) || total < 0 || total > maxBytes) throw new SiteModelIntegrityError(`${what}: announced ${chunk.totalBytes} bytes, at most ${maxBytes} expected`)
        if (announced === undefined) {
          announced = total
          sink.begin(total)
        }
        if (total !== announced || received + chunk.data.length > total) throw new SiteModelIntegrityError(`${what}: more bytes than the ${announced} announced`)
        hash.update(chunk.data)
        await sink.write(chunk.data, received)
        received += chunk.data.length
      }
    } catch (err) {
      if (err instanceof SiteModelIntegrityError) {
        call.cancel()
        throw err
      }
      throw rejected(`download of ${what}`, err)
    } finally {
      clearTimeout(idle)
    }
    if (announced === undefined) sink.begin(0)
    if (received !== (announced ?? 0)) throw new SiteModelIntegrityError(`${what}: received ${received} bytes, announced ${announced}`)
    const digest = new Uint8Array(hash.digest())
    if (!equalBytes(digest, modelHash)) throw new SiteModelIntegrityError(`${what}: downloaded bytes hash to ${toHex(digest).slice(0, 16)}…`)
  }

  /**
   * Uploads a signed envelope and then the delta bytes, in chunks under
   * gRPC's message limit: views of `delta` when it is in memory, read one at
   * a time from its file otherwise (a `DeltaFile`). The next chunk is written
   * only once the stream has taken the last (its 'drain'): written all at
   * once, gRPC would serialise every chunk into a buffer of its own before
   * sending any, one more copy of the delta (191 MiB at 50M parameters).
   */
  uploadUpdate(envelope: SignedStatement, delta: DeltaSource, timeoutMs = transferDeadlineMs(delta.length)): Promise<{ round: number; logSeq: number }> {
    return new Promise((resolve, reject) => {
      let settled = false
      const call = this.client.UploadUpdate({ deadline: Date.now() + timeoutMs }, (err, res) => {
        settled = true
        if (err || !res) reject(rejected('upload', err))
        else resolve({ round: Number(res.round), logSeq: Number(res.logSeq) })
      })
      const drained = () => new Promise<void>((done) => call.once('drain', done))
      const send = async () => {
        if (!call.write({ envelope })) await drained()
        for await (const chunk of chunksOf(delta)) {
          // A call that already ended (refused early, deadline) takes no more writes.
          if (settled) return
          if (!call.write({ data: chunk })) await drained()
        }
        if (!settled) call.end()
      }
      send().catch((err: unknown) => {
        // Reading the delta failed (its file went away): the upload is abandoned, and the caller told why.
        call.cancel()
        if (!settled) {
          settled = true
          reject(err)
        }
      })
    })
  }

  submitCosignature(sessionToken: Uint8Array, size: number, cosig: { witness: Uint8Array; signature: Uint8Array; timestamp: number }, timeoutMs = this.requestMs): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.SubmitCosignature(
        { sessionToken, size: String(size), witness: cosig.witness, signature: cosig.signature, timeMs: String(cosig.timestamp * 1000) },
        { deadline: Date.now() + timeoutMs },
        (err) => (err ? reject(rejected('cosignature', err)) : resolve()),
      ),
    )
  }

  /** The study's public progress from round `fromRound` on (per round: inputs, credits, consent). */
  roundStatus(fromRound: number, timeoutMs = this.requestMs): Promise<RoundStatusResponse__Output> {
    return new Promise((resolve, reject) =>
      this.client.RoundStatus({ fromRound: String(fromRound) }, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(rejected('round status', err)) : resolve(res))),
    )
  }

  /** Sends the site's signed `patient-rewards` statement; resolves with its log position. */
  submitPatientRewards(statement: SignedStatement, timeoutMs = this.requestMs): Promise<{ logSeq: number }> {
    return new Promise((resolve, reject) =>
      this.client.SubmitPatientRewards(statement, { deadline: Date.now() + timeoutMs }, (err, res) =>
        err || !res ? reject(rejected('patient rewards', err)) : resolve({ logSeq: Number(res.logSeq) }),
      ),
    )
  }

  /** Sends the site's signed `approval` of the study spec; resolves with its log position. */
  submitApproval(statement: SignedStatement, timeoutMs = this.requestMs): Promise<{ logSeq: number }> {
    return new Promise((resolve, reject) =>
      this.client.SubmitApproval(statement, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(rejected('approval', err)) : resolve({ logSeq: Number(res.logSeq) }))),
    )
  }

  /** Sends the site's signed `declined` of a fit task; resolves with its log position. */
  submitDeclined(statement: SignedStatement, timeoutMs = this.requestMs): Promise<{ logSeq: number }> {
    return new Promise((resolve, reject) =>
      this.client.SubmitDeclined(statement, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(rejected('declined', err)) : resolve({ logSeq: Number(res.logSeq) }))),
    )
  }

  /** Sends a signed secure-aggregation message (keys, shares or reveals); resolves with its log position. */
  submitSecAgg(statement: SignedStatement, timeoutMs = this.requestMs): Promise<{ logSeq: number }> {
    return new Promise((resolve, reject) =>
      this.client.SubmitSecAgg(statement, { deadline: Date.now() + timeoutMs }, (err, res) =>
        err || !res ? reject(rejected('secure-aggregation message', err)) : resolve({ logSeq: Number(res.logSeq) }),
      ),
    )
  }

  reportEvaluation(report: SignedStatement, timeoutMs = this.requestMs): Promise<{ logSeq: number }> {
    return new Promise((resolve, reject) =>
      this.client.ReportEvaluation(report, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(rejected('evaluation report', err)) : resolve({ logSeq: Number(res.logSeq) }))),
    )
  }
}
