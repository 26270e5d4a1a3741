/**
 * Requests whose bytes are not a message of their type. grpc-js answers a
 * request it cannot deserialize with INTERNAL, as if the coordinator had
 * failed; the client sent bad bytes, so it should hear INVALID_ARGUMENT.
 * The service's deserializers are wrapped to hand such a request to the
 * handler as a marker, and the handler refuses it with its code.
 */
import type { ServiceDefinition } from '@grpc/grpc-js'
import { RequestUndecodableError } from '../errors.ts'

const UNDECODABLE = Symbol('undecodable request')

interface Undecodable {
  readonly [UNDECODABLE]: string
}

/** `service` with every request deserializer returning a marker instead of throwing. */
export function tolerantService<S extends ServiceDefinition>(service: S): S {
  const out: Record<string, unknown> = {}
  for (const [name, method] of Object.entries(service)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return method.requestDeserialize(bytes)
        } catch (err) {
          return { [UNDECODABLE]: (err as Error).message } satisfies Undecodable
        }
      },
    }
  }
  return out as S
}

/** Throws RequestUndecodableError when `request` is the marker of bytes that did not decode. */
export function requireDecoded(request: unknown, what: string): void {
  if (typeof request === 'object' && request !== null && UNDECODABLE in request) {
    throw new RequestUndecodableError(`${what}: the request bytes are not a ${what} message (${(request as Undecodable)[UNDECODABLE]}); send a message built from protos/federation.proto`)
  }
}
