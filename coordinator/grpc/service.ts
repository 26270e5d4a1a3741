/**
 * The Federation service handlers. Each decodes its request, calls the round
 * runner (which owns every check and every state change), and encodes the
 * answer; errors leave through `toServiceError`. Nothing here decides policy.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js'
import type { Logger } from 'pino'
import {
  WIRE_CHUNK_BYTES,
  type FederationHandlers,
  type UpdateChunk__Output,
  type RoundStatusResponse,
  type RoundSummary,
  type SecAggProgress,
  type SignedStatement__Output,
} from '../../protos/index.ts'
import { CoordinatorStoreError, DownloadStalledError, PeerIdentityError, UploadProtocolError, UploadStalledError } from '../errors.ts'
import { equalBytes, toHex, type BlobWriter, type FinishedBlob } from '../../ledger/index.ts'
import { peerPublicKey, type CallWithAuthContext } from '../../pki/index.ts'
import type { RoundRunner } from '../round-runner.ts'
import type { SessionTable } from '../sessions.ts'
import type { TaskBroker } from '../task-broker.ts'
import { failStream, toServiceError } from './status.ts'
import { TransferRate, type TransferRateInit } from './transfer-rate.ts'
import type { UploadBudget } from './upload-budget.ts'
import { logDisconnect } from './disconnect-log.ts'
import type { RefusalLog } from './refusal-log.ts'
import { requireDecoded } from './undecodable.ts'
import {
  decodeSecAggStatement,
  decodeStatement,
  secAggPhaseDeadline,
  statementHash,
  specHash,
  type RoundRecord,
  type SignedStatement,
  type StudyState,
  checkHello,
  ProtocolError,
  UpdateTooLargeError,
} from '../../protocol/index.ts'

export interface FederationServiceComponents {
  readonly runner: RoundRunner
  readonly sessions: SessionTable
  readonly broker: TaskBroker
  readonly logger: Logger
  readonly coordinatorKey: Uint8Array
  /** The coordinator replica's libp2p addresses, handed to sites at hello. */
  readonly p2pAddrs: readonly string[]
  readonly now: () => number
  readonly maxHelloAgeMs: number
  /**
   * Mutual TLS is on: every call must come from the certificate of the party
   * it speaks for (a site's own key for its hello, session and statements; the
   * hub key for round starts). Off on plaintext loopback, where there is none.
   */
  readonly requirePeerCertificates: boolean
  /** A download whose client reads nothing for this long is ended (COORD_DOWNLOAD_STALLED). */
  readonly downloadStallMs: number
  /** An upload that sends nothing for this long is dropped without a log entry. */
  readonly uploadIdleMs: number
  /** An upload slower than this over a window is dropped the same way. */
  readonly uploadRate: TransferRateInit
  /** The cap on upload bytes in flight: an upload over it is refused with COORD_BUSY. */
  readonly uploadBudget: UploadBudget
  /** Where refused requests are logged, rate-limited per peer and code. */
  readonly refusals: RefusalLog
}

/** Logs a refusal of `rpc` (a ProtocolError; anything else is a fault, logged as such by the caller). */
function noteRefusal(c: FederationServiceComponents, rpc: string, call: { getPeer(): string }, site: string | undefined, err: unknown): void {
  if (err instanceof ProtocolError) c.refusals.refused({ rpc, site, peer: call.getPeer(), code: err.code, message: err.message })
}

/** The site id a hello claims, when its body decodes. */
function helloSite(req: { hello?: SignedStatement__Output | null }): string | undefined {
  try {
    return req.hello ? decodeStatement('hello', new Uint8Array(req.hello.body)).site : undefined
  } catch {
    return undefined
  }
}

/**
 * Refuses a call whose TLS client certificate does not carry `expected`, the
 * enrolled key of `who`. A site's signatures already bind its statements;
 * this keeps one party's connection from speaking for another.
 */
function requirePeer(c: FederationServiceComponents, call: CallWithAuthContext, expected: Uint8Array | undefined, who: string): void {
  if (!c.requirePeerCertificates) return
  const key = peerPublicKey(call)
  if (key !== undefined && expected !== undefined && equalBytes(key, expected)) return
  throw new PeerIdentityError(
    `${who}: the TLS client certificate carries key ${key === undefined ? '(none)' : toHex(key)}, not ${who}'s enrolled key; connect with the certificate the hub issued for it`,
  )
}

/** The site a signed statement names, when its body decodes (the runner reports a body that does not). */
type SiteStatementType = 'update' | 'evaluation' | 'patient-rewards' | 'approval' | 'declined' | 'secagg'

function statementSite(type: SiteStatementType, signed: SignedStatement): string | undefined {
  try {
    return type === 'secagg' ? decodeSecAggStatement(signed.body).site : decodeStatement(type, signed.body).site
  } catch {
    return undefined
  }
}

function signedFrom(msg: SignedStatement__Output | null | undefined): SignedStatement {
  if (!msg) throw new UploadProtocolError('missing signed statement')
  return { body: new Uint8Array(msg.body), signature: new Uint8Array(msg.signature) }
}

/** `claimed`: who the request says it is from (a site id, or "hub"), for the refusal log. */
function unary<Req, Res>(
  c: FederationServiceComponents,
  name: string,
  fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
  claimed: (req: Req) => string | undefined = () => undefined,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => {
        requireDecoded(call.request, name)
        return fn(call.request, call)
      })
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (!(err instanceof ProtocolError)) c.logger.error({ err, rpc: name }, 'handler failed')
          else noteRefusal(c, name, call, claimedSafely(claimed, call.request), err)
          callback(toServiceError(err))
        },
      )
  }
}

function claimedSafely<Req>(claimed: (req: Req) => string | undefined, req: Req): string | undefined {
  try {
    return claimed(req)
  } catch {
    return undefined
  }
}

/** How long a short upload waits for grpc-js to report a cancel before it is judged as sent. */
const CANCEL_GRACE_MS = 250

/** Resolves true once `call` reports its cancel, or false after `ms`. */
function cancelledWithin(call: { readonly cancelled: boolean; once(event: 'cancelled', f: () => void): unknown; off(event: 'cancelled', f: () => void): unknown }, ms: number): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(true)
  return new Promise((resolve) => {
    const onCancel = () => {
      clearTimeout(timer)
      resolve(true)
    }
    const timer = setTimeout(() => {
      call.off('cancelled', onCancel)
      resolve(false)
    }, ms)
    call.once('cancelled', onCancel)
  })
}

/**
 * Writes one message and resolves once grpc-js has handed it to HTTP/2 (its
 * write callback), or the call has gone away; rejects with
 * DownloadStalledError when neither happens within `stallMs` (a client that
 * stopped reading would otherwise hold the call and its file forever).
 * Waiting for each write, not for `drain`, keeps one message in flight per
 * download: the object-mode stream would buffer 16 (16 MiB) before asking
 * the writer to wait, which at 56 concurrent downloads is most of a gigabyte.
 */
function writeInTurn<T>(
  call: {
    write(message: T, cb: (err?: Error | null) => void): boolean
    once(event: 'cancelled' | 'close', f: () => void): unknown
    off(event: 'cancelled' | 'close', f: () => void): unknown
  },
  message: T,
  stallMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error | null) => {
      clearTimeout(timer)
      for (const e of ['cancelled', 'close'] as const) call.off(e, gone)
      if (err) reject(err)
      else resolve()
    }
    const gone = () => settle()
    const timer = setTimeout(() => settle(new DownloadStalledError(`the client read nothing for ${stallMs} ms; download again`)), stallMs)
    for (const e of ['cancelled', 'close'] as const) call.once(e, gone)
    call.write(message, settle)
  })
}

export function createFederationHandlers(c: FederationServiceComponents): FederationHandlers {
  const { runner, sessions, broker } = c
  /** The site a session token belongs to, on that site's own connection. */
  const sessionSite = (token: Uint8Array, call: CallWithAuthContext): string => {
    const siteId = sessions.siteOf(token)
    requirePeer(c, call, runner.state.sites.get(siteId), `site "${siteId}"`)
    return siteId
  }
  /** A unary RPC that takes one site-signed statement into the log, on that site's own connection. */
  /** The site a session token names, if it is a live one (for the refusal log). */
  const tokenSite = (token: Uint8Array | undefined): string | undefined => {
    try {
      return sessions.siteOf(token)
    } catch {
      return undefined
    }
  }
  const siteStatement = (name: string, type: SiteStatementType, accept: (signed: SignedStatement) => Promise<{ seq: number }>) =>
    unary<SignedStatement__Output, { logSeq: string }>(
      c,
      name,
      async (req, call) => {
        const signed = signedFrom(req)
        const site = statementSite(type, signed)
        if (site !== undefined) requirePeer(c, call, runner.state.sites.get(site), `site "${site}"`)
        return { logSeq: String((await accept(signed)).seq) }
      },
      (req) => statementSite(type, signedFrom(req)),
    )
  return {
    Hello: unary(
      c,
      'Hello',
      (req, call) => {
        const hello = signedFrom(req.hello)
        const siteId = checkHello(runner.state, hello, c.now(), c.maxHelloAgeMs)
        requirePeer(c, call, runner.state.sites.get(siteId), `site "${siteId}"`)
        sessions.spendHello(statementHash(hello), decodeStatement('hello', hello.body).time, c.maxHelloAgeMs)
        c.logger.info({ site: siteId }, 'site hello')
        return {
          studyId: runner.state.studyId,
          studySpec: runner.state.spec,
          sessionToken: sessions.issue(siteId),
          currentRound: String(runner.state.lastRound),
          coordinatorKey: c.coordinatorKey,
          p2pAddrs: [...c.p2pAddrs],
        }
      },
      helloSite,
    ),

    SubmitCosignature: unary(
      c,
      'SubmitCosignature',
      async (req, call) => {
        const siteId = sessionSite(req.sessionToken, call)
        const size = await runner.addCosignature(siteId, Number(req.size), {
          witness: new Uint8Array(req.witness),
          signature: new Uint8Array(req.signature),
          // cosignature/v1 signs whole seconds; the wire field is in ms (a fraction of a second cannot verify).
          timestamp: Number(req.timeMs) / 1000,
        })
        return { size: String(size) }
      },
      (req) => tokenSite(req.sessionToken),
    ),

    Tasks: (call) => {
      let siteId: string
      try {
        requireDecoded(call.request, 'Tasks')
        siteId = sessionSite(call.request.sessionToken, call)
      } catch (err) {
        noteRefusal(c, 'Tasks', call, tokenSite(call.request?.sessionToken), err)
        failStream(call, err)
        return
      }
      logDisconnect(call, siteId, c.logger, c.now)
      broker.attach(siteId, call)
      for (const task of runner.pendingTasks(siteId)) broker.send(siteId, task)
    },

    DownloadModel: (call) => {
      Promise.resolve()
        .then(async () => {
          requireDecoded(call.request, 'DownloadModel')
          const siteId = sessionSite(call.request.sessionToken, call)
          const modelHash = new Uint8Array(call.request.modelHash)
          const model = await runner.openModel(modelHash, WIRE_CHUNK_BYTES)
          let offset = 0
          // Read as sent, one message in flight: a slow site holds a chunk or two in memory, not the model.
          for await (const data of model.chunks()) {
            if (call.cancelled) return
            await writeInTurn(call, { totalBytes: String(model.size), offset: String(offset), data }, c.downloadStallMs)
            offset += data.length
          }
          if (model.size === 0) call.write({ totalBytes: '0', offset: '0', data: new Uint8Array(0) })
          call.end()
          broker.noteDownload(siteId, toHex(modelHash))
        })
        .catch((err: unknown) => {
          noteRefusal(c, 'DownloadModel', call, tokenSite(call.request?.sessionToken), err)
          failStream(call, err)
        })
    },

    UploadUpdate: (call, callback) => {
      let signed: SignedStatement | undefined
      let declared = 0
      let received = 0
      // The delta is streamed into a temp file as it arrives, hashed on the way: an upload
      // holds one message in memory, whatever its size. Writes run one after another, and
      // the stream is paused while one is in flight, so a fast sender waits for the disk.
      let writer: Promise<BlobWriter> | undefined
      let writing: Promise<void> = Promise.resolve()
      const discard = () => void writer?.then((w) => w.discard()).catch(() => undefined)
      let settled = false
      const fail = (err: unknown) => {
        if (settled) return
        settled = true
        discard()
        noteRefusal(c, 'UploadUpdate', call, signed === undefined ? undefined : statementSite('update', signed), err)
        // The decider, not the transport, decides which refusals are logged (those of a
        // binding envelope); the reply waits until that rejection is durable.
        if (signed && err instanceof ProtocolError) void runner.rejectUpdate(signed, err).finally(() => callback(toServiceError(err)))
        else callback(toServiceError(err))
      }
      // A stalled or trickling upload is dropped like a cut-off one: nothing logged, the envelope unspent.
      let idle: NodeJS.Timeout | undefined
      let rate: TransferRate | undefined
      let release: () => void = () => undefined
      const stall = (why: string) => {
        if (settled) return
        settled = true
        discard()
        c.logger.info({ site: signed === undefined ? undefined : statementSite('update', signed), received, declared }, 'upload stalled: dropped, nothing logged')
        callback(toServiceError(new UploadStalledError(`${why}: send the envelope and the delta without pausing, or send again`)))
      }
      const watch = () => {
        clearTimeout(idle)
        idle = setTimeout(() => stall(`no upload message for ${c.uploadIdleMs} ms`), c.uploadIdleMs)
        idle.unref()
      }
      watch()
      call.on('close', () => {
        clearTimeout(idle)
        rate?.stop()
        release()
      })
      call.on('data', (msg: UpdateChunk__Output) => {
        if (settled) return
        watch()
        try {
          requireDecoded(msg, 'UpdateChunk')
          if (msg.part === 'envelope') {
            if (signed) throw new UploadProtocolError('a second envelope in one upload')
            // Reserved before the envelope is read: a COORD_BUSY refusal is never logged and never spends it.
            release = c.uploadBudget.reserve(runner.state.deltaSizeBytes)
            signed = signedFrom(msg.envelope)
            const site = statementSite('update', signed)
            if (site !== undefined) requirePeer(c, call, runner.state.sites.get(site), `site "${site}"`)
            declared = runner.admitEnvelope(signed).size
            writer = runner.createUploadWriter()
            rate = new TransferRate(c.uploadRate, declared, (w) => stall(`the upload sent ${w.bytes} bytes in ${w.windowMs} ms, under the minimum of ${w.wantBytes}`))
          } else if (msg.part === 'data') {
            if (!signed) throw new UploadProtocolError('delta bytes before the envelope')
            const data = msg.data ?? new Uint8Array(0)
            if (received + data.length > declared) throw new UpdateTooLargeError(`upload exceeds the ${declared} bytes its envelope declares (received ${received + data.length} so far)`)
            received += data.length
            rate?.add(data.length)
            call.pause()
            writing = writing
              .then(async () => (await writer!).write(data))
              .then(
                () => {
                  call.resume()
                },
                (err: unknown) => fail(err),
              )
          } else throw new UploadProtocolError('an upload chunk with neither envelope nor data')
        } catch (err) {
          fail(err)
        }
      })
      // A client that goes away mid-upload (a dropped connection, a cancel) has
      // sent no update: nothing is logged against it and its envelope stays
      // unspent, so the same signed envelope can be sent again.
      call.on('cancelled', () => {
        if (settled) return
        settled = true
        discard()
        c.logger.info({ site: signed === undefined ? undefined : statementSite('update', signed), received, declared }, 'upload cut off by the client: nothing logged')
      })
      call.on('end', async () => {
        clearTimeout(idle)
        rate?.stop()
        if (settled || call.cancelled) return
        if (!signed) return fail(new UploadProtocolError('upload ended without an envelope'))
        // grpc-js ends the request stream of a cut-off call before it reports the
        // cancel: a short upload waits briefly for that report, so a lost connection
        // is not taken for a site that sent too few bytes (which is refused after it).
        if (received < declared) await cancelledWithin(call, CANCEL_GRACE_MS)
        await writing
        if (settled || call.cancelled) return discard()
        let blob: FinishedBlob
        try {
          blob = await (await writer!).finish()
        } catch (err) {
          // The disk, not the site, failed: nothing is logged against it, and it may send again.
          c.logger.error({ err }, 'upload could not be written')
          settled = true
          discard()
          return callback(toServiceError(new CoordinatorStoreError(`the upload could not be stored (${(err as Error).message}); send it again`, { cause: err })))
        }
        runner.acceptUpdate(signed, blob).then(
          (r) => {
            if (settled) return
            settled = true
            callback(null, { round: String(r.round), envelopeHash: statementHash(signed!), logSeq: String(r.seq) })
          },
          (err: unknown) => {
            if (!(err instanceof ProtocolError)) c.logger.error({ err }, 'upload failed')
            else noteRefusal(c, 'UploadUpdate', call, statementSite('update', signed!), err)
            // acceptUpdate logs its own rejections; only map the error here.
            if (!settled) {
              settled = true
              callback(toServiceError(err))
            }
          },
        )
      })
      call.on('error', (err) => c.logger.debug({ err }, 'upload stream error'))
    },

    ReportEvaluation: siteStatement('ReportEvaluation', 'evaluation', (signed) => runner.acceptEvaluation(signed)),
    SubmitPatientRewards: siteStatement('SubmitPatientRewards', 'patient-rewards', (signed) => runner.acceptPatientRewards(signed)),
    SubmitApproval: siteStatement('SubmitApproval', 'approval', (signed) => runner.acceptApproval(signed)),
    SubmitDeclined: siteStatement('SubmitDeclined', 'declined', (signed) => runner.acceptDeclined(signed)),
    SubmitSecAgg: siteStatement('SubmitSecAgg', 'secagg', (signed) => runner.acceptSecAgg(signed)),

    ChangeMembership: unary(
      c,
      'ChangeMembership',
      async (req, call) => {
        requirePeer(c, call, runner.state.hubKey, 'the hub')
        const r = await runner.changeMembership(signedFrom(req))
        return { logSeq: String(r.seq) }
      },
      () => 'hub',
    ),

    StartRound: unary(
      c,
      'StartRound',
      async (req, call) => {
        requirePeer(c, call, runner.state.hubKey, 'the hub')
        const r = await runner.startRound(signedFrom(req))
        return { round: String(r.round), baseModelHash: r.base, logSeq: String(r.seq) }
      },
      () => 'hub',
    ),

    AbortRound: unary(
      c,
      'AbortRound',
      async (req, call) => {
        requirePeer(c, call, runner.state.hubKey, 'the hub')
        const r = await runner.abortRound(signedFrom(req))
        return { logSeq: String(r.seq) }
      },
      () => 'hub',
    ),

    RoundStatus: unary(c, 'RoundStatus', (req): RoundStatusResponse => roundStatus(runner, Number(req.fromRound || 0))),
  }
}

/** The public progress report of a study (also what the demo's table prints). */
export function roundStatus(runner: RoundRunner, fromRound = 0): RoundStatusResponse {
  const s = runner.state
  const rounds: RoundSummary[] = []
  const evaluationsOf = (round: number) =>
    [...(s.evaluations.get(round)?.values() ?? [])].sort((a, b) => (a.site < b.site ? -1 : 1)).map((e) => ({ siteId: e.site, examples: String(e.examples), metrics: { ...e.metrics } }))
  if (fromRound <= 0) rounds.push({ round: '0', state: 'initial', modelHash: s.genesis, evaluations: evaluationsOf(0), sites: [], examples: '0', rejected: [] })
  for (const r of [...s.rounds.values()].filter((x) => x.round >= Math.max(1, fromRound)).sort((a, b) => a.round - b.round)) {
    const commit = r.commit?.body
    const state = r.status === 'committed' && runner.isEvaluated(r.round) ? 'evaluated' : r.status
    rounds.push({
      round: String(r.round),
      state,
      baseModelHash: r.base,
      modelHash: commit?.model ?? new Uint8Array(),
      sites: commit ? commit.inputs.map((i) => i.site) : [...r.accepted.keys()].sort(),
      examples: String(commit?.metrics['examples'] ?? [...r.accepted.values()].reduce((n, a) => n + a.examples, 0)),
      trainLoss: commit?.metrics['trainLoss'] ?? 0,
      evaluations: evaluationsOf(r.round),
      openedMs: String(r.openedMs),
      committedMs: String(r.commit?.timeMs ?? 0),
      rejected: r.rejected.map((x) => `${x.site}: ${x.code}`),
      consent: [...r.accepted.values()]
        .filter((a) => a.consent !== undefined)
        .sort((a, b) => (a.site < b.site ? -1 : 1))
        .map((a) => ({
          siteId: a.site,
          root: a.consent!.root,
          count: String(a.consent!.count),
          noConsent: String(a.consent!.excluded.noConsent),
          expired: String(a.consent!.excluded.expired),
          notYetValid: String(a.consent!.excluded.notYetValid),
          revoked: String(a.consent!.excluded.revoked),
        })),
      revocations: String(r.revocations.length),
      rewards: (r.rewards?.body.allocations ?? []).map((a) => ({ siteId: a.site, amount: a.amount.toString() })),
      patientRewards: [...r.patientRewards.keys()].sort(),
      declined: [...r.declined.values()].sort((a, b) => (a.site < b.site ? -1 : 1)).map((d) => ({ siteId: d.site, code: d.code, reason: d.reason })),
      deadlineMs: String(r.deadlineMs),
      planned: [...r.plan.keys()].sort(),
      closeReason: r.abortReason ?? r.abandonReason ?? '',
      ...(r.secagg === undefined ? {} : { secagg: secAggProgress(s, r) }),
    })
  }
  return {
    studyId: s.studyId,
    roundsTarget: String(runner.init.study.rounds),
    committedRounds: String(s.committedRounds),
    done: s.completed,
    rounds,
    genesisModelHash: s.genesis,
    logLength: String(runner.logLength),
    logHead: runner.logHead,
    specHash: s.created ? specHash(s.spec) : new Uint8Array(),
    studySpec: s.spec,
    requireApproval: s.created && s.study.requireApproval === true,
    nowMs: String(runner.nowMs),
    approvals: [...s.approvals.values()].sort((a, b) => (a.site < b.site ? -1 : 1)).map((a) => ({ siteId: a.site, specHash: a.spec, logSeq: String(a.seq) })),
  }
}

/** Where a secure-aggregation round's protocol stands, for `status` and dashboards. */
function secAggProgress(state: StudyState, r: RoundRecord): SecAggProgress {
  const sa = r.secagg!
  const sorted = (sites: Iterable<string>) => [...sites].sort()
  const expected = sa.phase === 'keys' ? sorted([...r.plan.keys()].filter((x) => !r.declined.has(x))) : sa.phase === 'shares' ? [...sa.u1!.sites] : sa.phase === 'input' ? [...sa.u2!] : [...sa.u3!]
  const answered = sa.phase === 'keys' ? sa.keys.keys() : sa.phase === 'shares' ? sa.shares.keys() : sa.phase === 'input' ? r.accepted.keys() : sa.reveals.keys()
  const u3 = new Set(sa.u3 ?? [])
  return {
    phase: r.status === 'collecting' ? sa.phase : 'closed',
    expected,
    answered: sorted(answered),
    deadlineMs: r.status === 'collecting' && state.openRound === r ? String(secAggPhaseDeadline(state, r)) : '0',
    dropped: sa.u3 === undefined ? [] : sa.u2!.filter((x) => !u3.has(x)),
  }
}
