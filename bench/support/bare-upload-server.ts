/**
 * The transport floor of bench:uploads: a gRPC server in a process of its
 * own with the coordinator's service definition, whose UploadUpdate reads the
 * envelope and the delta and acknowledges at once — no admission, no
 * signature check, no log. Timing one upload against N simultaneous ones
 * here shows what grpc-js and this machine's two cores cost before the
 * coordinator does any work. Prints `{ ready, address }` once listening;
 * stops when its stdin closes.
 */
import * as grpc from '@grpc/grpc-js'
import { federationService, type FederationHandlers } from '../../protos/index.ts'

// The coordinator's own transport options that cost CPU per call (no channelz), so the floor is the same transport.
const server = new grpc.Server({ 'grpc.enable_channelz': 0 })
const uploadUpdate: FederationHandlers['UploadUpdate'] = (call, callback) => {
  let bytes = 0
  call.on('data', (msg) => {
    bytes += msg.data?.length ?? 0
  })
  call.on('end', () => callback(null, { round: '1', envelopeHash: Buffer.alloc(32), logSeq: String(bytes) }))
}
// The other methods answer UNIMPLEMENTED: the floor times uploads only.
server.addService(federationService(), { UploadUpdate: uploadUpdate })
const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
process.stdout.write(`${JSON.stringify({ ready: true, address: `127.0.0.1:${port}`, port })}\n`)
process.stdin.resume()
process.stdin.on('end', () => server.tryShutdown(() => process.exit(0)))
