/**
 * A Federation client on a connection of its own, as a separate site's
 * process would have: grpc-js otherwise shares one connection per target
 * among every client in a process.
 */
import { createFederationClient, type FederationClient } from '../../protos/index.ts'

export function ownClient(address: string): FederationClient {
  return createFederationClient(address, undefined, { 'grpc.use_local_subchannel_pool': 1 })
}
