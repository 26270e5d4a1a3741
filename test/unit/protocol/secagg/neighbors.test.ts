/**
 * The round's graph (protocol/secagg/neighbors.ts): complete at k >= n − 1,
 * otherwise a seeded Harary-like d-regular graph, symmetric, sorted, the same
 * for the same (participants, k, seed) whatever the input order.
 */
import { describe, expect, it } from 'vitest'
import { secAggDegree } from '../../../../models/core/index.ts'
import { secAggGraph } from '../../../../protocol/index.ts'

const sites = (n: number) => Array.from({ length: n }, (_, i) => `site-${String(i).padStart(2, '0')}`)

function connected(graph: ReadonlyMap<string, readonly string[]>): boolean {
  const start = graph.keys().next().value!
  const seen = new Set([start])
  const queue = [start]
  while (queue.length > 0) for (const v of graph.get(queue.pop()!)!) if (!seen.has(v) && seen.add(v)) queue.push(v)
  return seen.size === graph.size
}

describe('secAggGraph', () => {
  it('is the complete graph when k >= n − 1', () => {
    const graph = secAggGraph(['c', 'a', 'b', 'd'], 3, 1)
    expect(Object.fromEntries(graph)).toEqual({ a: ['b', 'c', 'd'], b: ['a', 'c', 'd'], c: ['a', 'b', 'd'], d: ['a', 'b', 'c'] })
    expect(secAggGraph(['c', 'a', 'b', 'd'], 10, 1)).toEqual(graph)
  })

  it.each([
    { n: 10, k: 2 },
    { n: 10, k: 4 },
    { n: 10, k: 5 },
    { n: 11, k: 5 },
    { n: 11, k: 6 },
    { n: 50, k: 7 },
    { n: 7, k: 4 },
  ])('is secAggDegree(n, k)-regular, symmetric, loop-free, sorted and connected (n = $n, k = $k)', ({ n, k }) => {
    // Execute
    const graph = secAggGraph(sites(n), k, 20261206)

    // Assert
    const d = secAggDegree(n, k)
    expect(graph.size).toBe(n)
    for (const [u, around] of graph) {
      expect(around.length).toBe(d)
      expect(new Set(around).size).toBe(d)
      expect(around).not.toContain(u)
      expect([...around].sort()).toEqual(around)
      for (const v of around) expect(graph.get(v)).toContain(u)
    }
    expect(connected(graph)).toBe(true)
  })

  it('depends on the seed and on the set of participants, not on their order', () => {
    const forward = secAggGraph(sites(20), 4, 7)
    const backward = secAggGraph([...sites(20)].reverse(), 4, 7)
    const reseeded = secAggGraph(sites(20), 4, 8)
    expect(backward).toEqual(forward)
    expect(reseeded).not.toEqual(forward)
  })

  it.each([
    { desc: 'a repeated participant', participants: ['a', 'b', 'a'], k: 2, code: 'PROTOCOL_INVALID_ARGUMENT' },
    { desc: 'one participant', participants: ['a'], k: 2, code: 'PROTOCOL_INVALID_ARGUMENT' },
    { desc: 'k = 0', participants: ['a', 'b', 'c'], k: 0, code: 'MODEL_SECAGG_SPEC_INVALID' },
  ])('refuses $desc', ({ participants, k, code }) => {
    expect(() => secAggGraph(participants, k, 1)).toThrow(expect.objectContaining({ code }))
  })
})
