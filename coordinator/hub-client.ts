/**
 * The research hub's side: start the next round with a request signed by the
 * hub key, and read the study's progress. Used by `fedlineage round start`,
 * `fedlineage status` and the demo.
 */
import { randomBytes } from 'node:crypto'
import type { Signer } from '../ledger/index.ts'
import { createFederationClient, type FederationClient, type RoundStatusResponse__Output, type StartRoundResponse__Output } from '../protos/index.ts'
import type { ChannelCredentials, ServiceError } from '@grpc/grpc-js'
import { CoordinatorError } from './errors.ts'
import { errorCodeOf } from './grpc/status.ts'
import { signStatement } from '../protocol/index.ts'

/** A refusal from a remote coordinator, carrying its stable code. */
export class RemoteCoordinatorError extends CoordinatorError {
  static override readonly code = 'COORD_REMOTE_ERROR'
  constructor(
    message: string,
    readonly remoteCode: string | undefined,
  ) {
    super(message)
  }
}

function remote(err: ServiceError | null): RemoteCoordinatorError {
  return new RemoteCoordinatorError(err?.details || err?.message || 'no response', errorCodeOf(err))
}

export class HubClient {
  private readonly client: FederationClient
  /** `credentials`: mutual TLS with the hub's certificate (pki/ `loadPartyTls`); plaintext when absent. */
  constructor(
    readonly address: string,
    credentials?: ChannelCredentials,
  ) {
    this.client = createFederationClient(address, credentials)
  }

  status(timeoutMs = 10_000): Promise<RoundStatusResponse__Output> {
    return new Promise((resolve, reject) => this.client.RoundStatus({}, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(remote(err)) : resolve(res))))
  }

  /** Signs and sends a request to open the round after the last one. */
  async startNextRound(signer: Signer, timeoutMs = 10_000): Promise<StartRoundResponse__Output> {
    const status = await this.status(timeoutMs)
    const last = status.rounds.reduce((m, r) => Math.max(m, Number(r.round)), 0)
    const request = signStatement(signer, { t: 'round-start', study: status.studyId, round: last + 1, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) })
    return new Promise((resolve, reject) => this.client.StartRound(request, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(remote(err)) : resolve(res))))
  }

  /** Signs and sends the hub's enrolment of site `site` with `publicKey` (or its removal, without a key) in the running study. */
  async changeMembership(signer: Signer, change: { readonly action: 'enroll' | 'remove'; readonly site: string; readonly publicKey?: Uint8Array }, timeoutMs = 10_000): Promise<{ logSeq: number }> {
    const status = await this.status(timeoutMs)
    const request = signStatement(signer, {
      t: 'membership',
      study: status.studyId,
      action: change.action,
      site: change.site,
      ...(change.publicKey ? { key: change.publicKey } : {}),
      time: Date.now(),
      nonce: new Uint8Array(randomBytes(16)),
    })
    return new Promise((resolve, reject) =>
      this.client.ChangeMembership(request, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(remote(err)) : resolve({ logSeq: Number(res.logSeq) }))),
    )
  }

  /**
   * Signs and sends the hub's abort of the open round with `reason`. The
   * round is the open one the coordinator reports, unless `round` names it:
   * then a round that is no longer open is refused, not another aborted.
   */
  async abortRound(signer: Signer, abort: { readonly reason: string; readonly round?: number }, timeoutMs = 10_000): Promise<{ round: number; logSeq: number }> {
    const status = await this.status(timeoutMs)
    const open = status.rounds.find((r) => r.state === 'collecting')
    const round = abort.round ?? (open === undefined ? status.rounds.reduce((m, r) => Math.max(m, Number(r.round)), 0) : Number(open.round))
    const request = signStatement(signer, { t: 'round-abort', study: status.studyId, round, reason: abort.reason, time: Date.now(), nonce: new Uint8Array(randomBytes(16)) })
    return new Promise((resolve, reject) =>
      this.client.AbortRound(request, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(remote(err)) : resolve({ round, logSeq: Number(res.logSeq) }))),
    )
  }

  close(): void {
    this.client.close()
  }
}
