/**
 * The deadline to authenticate, per call. Every Federation request carries
 * its credentials in its first message (a signed hello, a session token, a
 * signed statement or upload envelope), which the handler checks at once; a
 * call that opens a stream and never sends that message would otherwise hold
 * one of its connection's concurrent-stream slots, and the connection, for
 * ever (grpc-js's idle timer counts a connection with open calls as busy).
 * This server interceptor ends such a call with COORD_AUTH_DEADLINE, and
 * reports each call's first message to the connection gate, which keeps that
 * connection open past its own deadline.
 */
import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js'
import { AuthDeadlineError } from '../errors.ts'
import { toServiceError } from './status.ts'

export interface FirstMessageDeadlineInit {
  readonly deadlineMs: number
  /** Called once per call, at its first request message, with its connection's remote end. */
  readonly onFirstMessage: (remoteAddress: string | undefined, remotePort: number | undefined) => void
  /** Called when a call is ended at the deadline: the RPC's name, the peer (`host:port`) and the message sent back (for the refusal log). */
  readonly onDeadline?: (rpc: string, peer: string, message: string) => void
}

export function firstMessageDeadline(init: FirstMessageDeadlineInit): ServerInterceptor {
  return (method, call) => {
    let timer: NodeJS.Timeout | undefined
    const stop = () => {
      clearTimeout(timer)
      timer = undefined
    }
    const intercepting: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) => {
        timer = setTimeout(() => {
          timer = undefined
          const e = toServiceError(new AuthDeadlineError(`${method.path}: no request message within ${init.deadlineMs} ms of opening the call; send the request as soon as the call opens`))
          intercepting.sendStatus({ code: e.code!, details: e.details!, metadata: e.metadata! })
          init.onDeadline?.(method.path.slice(method.path.lastIndexOf('/') + 1), call.getPeer(), e.details!)
        }, init.deadlineMs)
        timer.unref()
        next({
          onReceiveMessage: (message, nextMessage) => {
            if (timer !== undefined) {
              stop()
              const info = call.getConnectionInfo()
              init.onFirstMessage(info.remoteAddress, info.remotePort)
            }
            nextMessage(message)
          },
          onCancel: stop,
        })
      },
      sendStatus: (status, nextStatus) => {
        stop()
        nextStatus(status)
      },
    })
    return intercepting
  }
}
