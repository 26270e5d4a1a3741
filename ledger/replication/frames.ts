/**
 * Frames over a libp2p stream: the I/O half of core/sync-codec.ts. Reading
 * collects the stream's messages and cuts them with `splitFrames`; writing
 * sends `encodeFrame(payload)` and waits for the stream to drain when its
 * buffer is full. Neither interprets payloads.
 *
 * Memory is bounded both ways. A reader that holds more than two frames'
 * worth of unread bytes pauses the stream (Yamux then stops granting the
 * sender window, so at most the window already granted still arrives), and
 * resumes once the consumer has caught up; a writer waits for `drain`. So a
 * peer that sends faster than we verify slows down instead of filling our
 * memory.
 */
import type { AbortOptions, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { encodeFrame, frameSize, splitFrames } from '../core/sync-codec.ts'
import { SyncFrameTruncatedError, SyncStreamClosedError } from './errors.ts'

/** Reads whole frames from a stream, one at a time. Nothing else may listen for the stream's messages meanwhile. */
export class FrameReader {
  readonly #stream: Stream
  readonly #maxFrameBytes: number
  readonly #highWaterBytes: number
  /** Received bytes not yet cut into frames, in order. */
  #chunks: Uint8Array[] = []
  #bufferedBytes = 0
  /** Size of the next whole frame once its prefix is in; cutting waits for that many bytes. */
  #nextFrameBytes = 0
  #frames: Uint8Array[] = []
  #ended = false
  #error: Error | undefined
  #wake: (() => void) | undefined
  /** Inside `stream.resume()`, which delivers what it buffered: pausing waits until it returns (see #resume). */
  #resuming = false

  /**
   * @param maxFrameBytes the largest payload accepted
   * @param readBufferBytes what the stream may buffer while paused (see STREAM_READ_BUFFER_BYTES); raised to, never lowered
   */
  constructor(stream: Stream, maxFrameBytes: number, readBufferBytes: number) {
    this.#stream = stream
    this.#maxFrameBytes = maxFrameBytes
    this.#highWaterBytes = 2 * maxFrameBytes + 16
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, readBufferBytes)
    this.#ended = stream.readableEnded
    stream.addEventListener('message', this.#onMessage)
    stream.addEventListener('end', this.#onEnd)
    stream.addEventListener('close', this.#onClose)
  }

  /**
   * The next frame's payload, or undefined once the remote closed its end on
   * a frame boundary. Throws `SyncFrameTooLargeError` or
   * `SyncFrameMalformedError` for a bad prefix, `SyncFrameTruncatedError`
   * when the stream ends inside a frame, and the stream's error when it is
   * reset or aborted (abort the stream to stop a read).
   */
  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      const frame = this.#frames.shift()
      if (frame !== undefined) return frame
      if (this.#bufferedBytes > 0 && this.#bufferedBytes >= this.#nextFrameBytes) {
        this.#cut()
        continue
      }
      if (this.#error !== undefined) throw this.#error
      if (this.#ended) {
        if (this.#bufferedBytes > 0) throw new SyncFrameTruncatedError(this.#bufferedBytes)
        return undefined
      }
      // We need more bytes than we hold: never wait while paused.
      if (this.#stream.readStatus === 'paused') this.#resume()
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
  }

  /** Stops listening to the stream. */
  release(): void {
    this.#stream.removeEventListener('message', this.#onMessage)
    this.#stream.removeEventListener('end', this.#onEnd)
    this.#stream.removeEventListener('close', this.#onClose)
    this.#notify()
  }

  #cut(): void {
    const buffer = this.#chunks.length === 1 ? (this.#chunks[0] as Uint8Array) : concat(this.#chunks, this.#bufferedBytes)
    const { frames, rest } = splitFrames(buffer, this.#maxFrameBytes)
    this.#frames = [...frames]
    // A rest that is all of the buffer stays as it is; a short tail of a large buffer is copied so the buffer can go.
    this.#chunks = rest.length === 0 ? [] : [frames.length === 0 ? rest : Uint8Array.from(rest)]
    this.#bufferedBytes = rest.length
    this.#nextFrameBytes = rest.length === 0 ? 0 : (frameSize(rest, this.#maxFrameBytes) ?? rest.length + 1)
    if (this.#bufferedBytes <= this.#highWaterBytes && this.#stream.readStatus === 'paused') this.#resume()
  }

  /**
   * Resumes the stream, then pauses it again if what it had buffered took us
   * past the high-water mark. Not from inside the delivery: in @libp2p/utils
   * 7.4.1 `resume()` delivers the buffered bytes *before* it tells the muxer
   * to grant the sender more window, so a pause made during the delivery is
   * undone at once; the stream stays 'paused' for us while Yamux keeps
   * granting window, and its read buffer grows until libp2p resets it.
   */
  #resume(): void {
    this.#resuming = true
    try {
      this.#stream.resume()
    } finally {
      this.#resuming = false
    }
    if (this.#bufferedBytes > this.#highWaterBytes && this.#stream.readStatus === 'readable') this.#stream.pause()
  }

  readonly #onMessage = (evt: StreamMessageEvent): void => {
    const chunk = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()
    this.#chunks.push(chunk)
    this.#bufferedBytes += chunk.length
    if (!this.#resuming && this.#bufferedBytes > this.#highWaterBytes && this.#stream.readStatus === 'readable') this.#stream.pause()
    this.#notify()
  }

  readonly #onEnd = (): void => {
    this.#ended = true
    this.#notify()
  }

  readonly #onClose = (evt: StreamCloseEvent): void => {
    if (evt.error !== undefined) this.#error ??= evt.error
    // Bytes still in the stream's buffer are delivered when we resume it; the 'end' event follows.
    if (evt.error !== undefined || this.#stream.readBufferLength === 0) this.#ended = true
    this.#notify()
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }
}

/**
 * Sends one frame and, when the stream asks for it, waits for its buffer to
 * drain (`drained`) before resolving, so a fast sender never queues a whole log in memory.
 */
export async function sendFrame(stream: Stream, payload: Uint8Array, options: AbortOptions): Promise<void> {
  if (!stream.send(encodeFrame(payload))) await drained(stream, options)
}

/**
 * Resolves at the stream's next `drain` event (at once when it needs none);
 * rejects when it closes or `options.signal` aborts. Not `stream.onDrain()`:
 * in @libp2p/utils 7.4.1 it keeps the promise of the first drain and
 * resolves every later call at once, so a sender that waits on it waits
 * once, then queues everything it sends (a 200 MB blob was queued whole in
 * the stream's write buffer).
 */
export function drained(stream: Stream, options: AbortOptions): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    const signal = options.signal
    const done = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => {
      done()
      resolve()
    }
    const onClose = (evt: StreamCloseEvent): void => {
      done()
      reject(evt.error ?? new SyncStreamClosedError(`sending on stream ${stream.id}`))
    }
    const onAbort = (): void => {
      done()
      reject(signal?.reason as Error)
    }
    if (signal?.aborted === true) return onAbort()
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}

/**
 * Writes frames in batches: frames gather until `flushBytes` of them are
 * buffered (or `flush()` is called), then go out as one stream write, so a
 * response of many small frames costs one Yamux frame, one Noise message and
 * one socket write per batch rather than per frame. Waits for the stream to
 * drain as sendFrame does. Nothing is sent until a flush: call `flush()` at
 * the end of a response and before waiting on the peer.
 */
export class FrameWriter {
  readonly #stream: Stream
  readonly #flushBytes: number
  readonly #options: AbortOptions
  #frames: Uint8Array[] = []
  #bytes = 0

  constructor(stream: Stream, flushBytes: number, options: AbortOptions) {
    this.#stream = stream
    this.#flushBytes = flushBytes
    this.#options = options
  }

  /** Adds a frame; sends the batch once it holds `flushBytes`. */
  async write(payload: Uint8Array): Promise<void> {
    const frame = encodeFrame(payload)
    this.#frames.push(frame)
    this.#bytes += frame.length
    if (this.#bytes >= this.#flushBytes) await this.flush()
  }

  /** Sends whatever is buffered. */
  async flush(): Promise<void> {
    if (this.#frames.length === 0) return
    const data = this.#frames.length === 1 ? (this.#frames[0] as Uint8Array) : concat(this.#frames, this.#bytes)
    this.#frames = []
    this.#bytes = 0
    if (!this.#stream.send(data)) await drained(this.#stream, this.#options)
  }
}

function concat(chunks: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}
