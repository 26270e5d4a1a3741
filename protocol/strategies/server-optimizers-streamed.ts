/**
 * A server optimiser's round slice by slice (`aggregateStreamed`): every
 * step of models/core/server-optimizers.ts is per value (the mean delta, the
 * moments, the new value), so running it on a slice of the model, the same
 * slice of each delta and the same slice of each state slot gives those
 * values bit for bit. The new model and the new state are written into their
 * canonical encodings as the slices come; memory is the two outputs plus one
 * slice of each input, not every delta decoded at once.
 *
 * Two cases go back to the whole-model path, which then decides with its own
 * errors and reasons: a state blob not laid out as this strategy's slots for
 * this model, and a value that is not finite (the whole path names the first
 * one in the model before any in the state; a slice cannot know that order).
 */
import { equalBytes, READ_SLICE_BYTES } from '../../ledger/core/index.ts'
import {
  NonFiniteValueError,
  encodedSize,
  encodeHeader,
  sizeOfShape,
  sortBySiteId,
  stateSlotShapes,
  valueSlices,
  valuesFromBytes,
  valuesIntoBytes,
  type ServerStep,
  type WeightedUpdate,
  type Weights,
} from '../../models/core/index.ts'
import type { ServerState, StreamedAggregateInit, StreamedOutcome } from '../strategy.ts'
import { StreamedMetrics } from './streamed-metrics.ts'

/** One server-optimiser step over whole (here: one-slice) weights. */
export type ServerStepFn = (global: Weights, updates: readonly WeightedUpdate[], state: ServerState | null, round: number) => ServerStep

export function serverStepStreamed(init: StreamedAggregateInit, slots: readonly string[], step: ServerStepFn): StreamedOutcome | undefined {
  const { round, shapes, global, replies, failures, state } = init
  if (replies.length === 0) return { kind: 'none', reason: `no update to aggregate (${failures.length} planned sites failed)` }
  const stateShapes = slots.flatMap((slot) => stateSlotShapes(slot, shapes))
  const stateHeader = encodeHeader(stateShapes)
  if (state !== undefined && (state.size !== encodedSize(stateShapes) || !equalBytes(state.read(0, stateHeader.length), stateHeader))) return undefined
  // Where each state tensor's values start in the state's encoding: slot by slot, each in the model's tensor order.
  const stateOffsets: number[] = []
  let at = stateHeader.length
  for (const s of stateShapes) {
    stateOffsets.push(at)
    at += 4 * sizeOfShape(s.shape)
  }
  const sorted = sortBySiteId(replies)
  const modelBytes = new Uint8Array(encodedSize(shapes))
  modelBytes.set(encodeHeader(shapes))
  const stateBytes = new Uint8Array(at)
  stateBytes.set(stateHeader)
  const metrics = new StreamedMetrics(sorted)
  for (const { tensor, start, count: n, offset } of valueSlices(shapes, READ_SLICE_BYTES >> 2)) {
    const t = shapes.indexOf(tensor)
    const one = (name: string, values: Float32Array): Weights => ({ tensors: [{ name, shape: [n], values }] })
    const g = valuesFromBytes(global.read(offset, 4 * n))
    const deltas = sorted.map((r) => valuesFromBytes(r.delta.read(offset, 4 * n)))
    const stateOffset = (k: number) => stateOffsets[k * shapes.length + t]! + 4 * start
    const stateSlice: ServerState | null =
      state === undefined ? null : { tensors: slots.map((slot, k) => ({ name: `${slot}/${tensor.name}`, shape: [n], values: valuesFromBytes(state.read(stateOffset(k), 4 * n)) })) }
    let next: ServerStep
    try {
      next = step(
        one(tensor.name, g),
        sorted.map((r, i) => ({ siteId: r.siteId, exampleCount: r.exampleCount, delta: one(tensor.name, deltas[i]!) })),
        stateSlice,
        round,
      )
    } catch (err) {
      if (err instanceof NonFiniteValueError) return undefined
      throw err
    }
    const values = next.weights.tensors[0]!.values
    valuesIntoBytes(modelBytes, offset, values)
    slots.forEach((_, k) => valuesIntoBytes(stateBytes, stateOffset(k), next.state.tensors[k]!.values))
    metrics.add(g, deltas, values)
  }
  return { kind: 'model', modelBytes, stateBytes, ...metrics.result(failures) }
}
