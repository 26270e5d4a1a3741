/**
 * A C2SP witness (https://c2sp.org/tlog-witness) over node:http: it follows
 * the logs it is given (origin and Ed25519 key), answers
 * `POST /add-checkpoint` as `decideAddCheckpoint` (core/witness-decision.ts)
 * says, and cosigns with its own key as cosignature/v1.
 *
 * Requests are handled one at a time, so checking the old size and
 * recording the new one are atomic (the spec's rollback race cannot
 * happen), and the new state is durably on disk (state-file.ts) before the
 * cosignature is sent. A crash between the two costs the client a retry:
 * the witness answers 409 with the new size, and cosigns that tree again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cosignCheckpoint, cosignatureLine, witnessKeyName } from '../core/checkpoint.ts'
import { NOTE_KEY_TYPE_COSIGNATURE_V1, NOTE_KEY_TYPE_ED25519, formatVerifierKey, type NoteVerifierKey } from '../core/signed-note.ts'
import type { Signer } from '../core/signature.ts'
import { WITNESS_STATUS, decideAddCheckpoint } from '../core/witness-decision.ts'
import { WitnessRequestMalformedError } from '../core/witness-errors.ts'
import { ADD_CHECKPOINT_PATH, TLOG_SIZE_CONTENT_TYPE, parseAddCheckpointRequest } from '../core/witness-request.ts'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { WitnessStateFile } from './state-file.ts'

/** Largest request body read: 63 proof lines and a checkpoint with its signatures fit many times over. */
export const MAX_WITNESS_REQUEST_BYTES = 256 * 1024

/** What the witness logs through (pino's shape). */
export interface WitnessLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface WitnessInit {
  /** The witness's key: it signs cosignature/v1 lines. */
  readonly signer: Signer
  /** The witness's key name (default `witnessKeyName(key)`, `fedlineage.example/witness/<hex>`). */
  readonly name?: string
  /** The logs it follows: Ed25519 note verifier keys, whose names are the logs' origins. */
  readonly logs: readonly NoteVerifierKey[]
  /** Folder of its state file (created if missing). */
  readonly stateDir: string
  /** Address to bind (default 127.0.0.1) and port (0 picks a free one). */
  readonly host?: string
  readonly port?: number
  readonly logger?: WitnessLogger
  /** Seconds since the epoch for cosignature timestamps (default: the clock). */
  readonly nowSeconds?: () => number
  /** Called after a new state is persisted and before the reply is written (tests simulate a crash there). */
  readonly afterPersist?: () => void
}

export interface RunningWitness {
  /** `http://host:port`, the submission prefix. */
  readonly url: string
  /** The witness's key name and its cosignature verifier key (`name+keyid+base64(0x04 ‖ key)`), for policies. */
  readonly name: string
  readonly verifierKey: string
  /** The size this witness last cosigned for `origin` (undefined: none yet). */
  heldSize(origin: string): number | undefined
  /** Resolves true once it has cosigned `origin` at `size` or more, false after `timeoutMs` (a site waits for the final checkpoint before stopping). */
  waitForSize(origin: string, size: number, timeoutMs: number): Promise<boolean>
  close(): Promise<void>
}

/** Starts a witness; resolves once it listens. */
export async function startWitness(init: WitnessInit): Promise<RunningWitness> {
  const name = init.name ?? witnessKeyName(init.signer.publicKey)
  const verifierKey = formatVerifierKey(name, NOTE_KEY_TYPE_COSIGNATURE_V1, init.signer.publicKey)
  for (const k of init.logs) if (k.type !== NOTE_KEY_TYPE_ED25519) throw new LedgerInvalidArgumentError(`log key ${k.name}: signature type 0x${k.type.toString(16)}, want an Ed25519 note key (0x01)`)
  const byOrigin = new Map<string, NoteVerifierKey[]>()
  for (const k of init.logs) byOrigin.set(k.name, [...(byOrigin.get(k.name) ?? []), k])
  const state = await WitnessStateFile.open(init.stateDir)
  const now = init.nowSeconds ?? (() => Math.floor(Date.now() / 1000))
  const cosigned = new EventTarget()
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work)
    queue = run.catch(() => undefined)
    return run
  }

  const addCheckpoint = async (body: string): Promise<{ status: number; type: string; body: string }> => {
    let req
    try {
      req = parseAddCheckpointRequest(body)
    } catch (err) {
      if (err instanceof WitnessRequestMalformedError) return { status: WITNESS_STATUS.badRequest, type: 'text/plain; charset=utf-8', body: `${err.message}\n` }
      throw err
    }
    return serial(async () => {
      const d = decideAddCheckpoint(
        req,
        (o) => byOrigin.get(o),
        (o) => state.get(o),
      )
      if (d.kind === 'refuse') {
        init.logger?.info({ status: d.status, reason: d.reason }, 'checkpoint refused')
        if (d.status === WITNESS_STATUS.conflict) return { status: d.status, type: TLOG_SIZE_CONTENT_TYPE, body: `${d.size ?? 0}\n` }
        return { status: d.status, type: 'text/plain; charset=utf-8', body: `${d.reason}\n` }
      }
      if (!d.unchanged) {
        await state.put(d.checkpoint.origin, d.next)
        init.afterPersist?.()
      }
      const cosig = cosignCheckpoint(init.signer, req.checkpoint, now())
      cosigned.dispatchEvent(new Event('cosigned'))
      init.logger?.info({ origin: d.checkpoint.origin, size: d.checkpoint.size }, 'checkpoint cosigned')
      return { status: 200, type: 'text/plain; charset=utf-8', body: `${cosignatureLine(cosig, name)}\n` }
    })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body)
    }
    const url = new URL(req.url ?? '/', 'http://witness')
    if (url.pathname !== ADD_CHECKPOINT_PATH) return reply(404, 'text/plain; charset=utf-8', `no such path; POST ${ADD_CHECKPOINT_PATH}\n`)
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      return reply(405, 'text/plain; charset=utf-8', `${ADD_CHECKPOINT_PATH} takes POST\n`)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_WITNESS_REQUEST_BYTES) return reply(413, 'text/plain; charset=utf-8', `request body over ${MAX_WITNESS_REQUEST_BYTES} bytes\n`)
      chunks.push(chunk)
    }
    let body: string
    try {
      body = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks))
    } catch {
      return reply(400, 'text/plain; charset=utf-8', 'request body is not UTF-8\n')
    }
    const out = await addCheckpoint(body)
    reply(out.status, out.type, out.body)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      init.logger?.warn({ err }, 'add-checkpoint failed')
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('internal error; the checkpoint was not cosigned\n')
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 30_000
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(init.port ?? 0, init.host ?? '127.0.0.1', () => resolve())
    })
  } catch (err) {
    await state.close()
    throw err
  }
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    url: `http://${host}:${addr.port}`,
    name,
    verifierKey,
    heldSize: (origin) => state.get(origin)?.size,
    waitForSize: (origin, size, timeoutMs) =>
      new Promise<boolean>((resolve) => {
        const check = () => {
          if ((state.get(origin)?.size ?? -1) < size) return
          done(true)
        }
        const timer = setTimeout(() => done(false), timeoutMs)
        function done(ok: boolean) {
          clearTimeout(timer)
          cosigned.removeEventListener('cosigned', check)
          resolve(ok)
        }
        cosigned.addEventListener('cosigned', check)
        check()
      }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await queue
      await state.close()
    },
  }
}
