/**
 * Reports how each gRPC call ended, for the coordinator's metrics: the
 * method's name and the stable error code its status carries (`OK` for a
 * success, the `fl-error-code` trailer for a refusal, `CANCELLED` for a
 * client that went away). It observes and changes nothing: it sits beside
 * `firstMessageDeadline`, and counts refusals that never reach the log
 * (COORD_BUSY, a stalled upload) as well as those that do.
 */
import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js'
import { ERROR_CODE_METADATA_KEY } from './status.ts'

/** `method` is the bare rpc name (`UploadUpdate`); `code` is `OK`, an error code, or a gRPC status name. */
export type CallOutcomeListener = (method: string, code: string) => void

export function callOutcomes(listener: CallOutcomeListener): ServerInterceptor {
  return (descriptor, call) => {
    const method = descriptor.path.slice(descriptor.path.lastIndexOf('/') + 1)
    let reported = false
    const report = (code: string) => {
      if (reported) return
      reported = true
      listener(method, code)
    }
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => report('CANCELLED') }),
      sendStatus: (s, nextStatus) => {
        const trailer = s.metadata?.get(ERROR_CODE_METADATA_KEY)[0]
        report(s.code === status.OK ? 'OK' : typeof trailer === 'string' ? trailer : (status[s.code] ?? String(s.code)))
        nextStatus(s)
      },
    })
  }
}
