/**
 * The Byzantine bench's chart and tables: seed means drawn with a bar from
 * the lowest to the highest seed at every point, the axis reaching the
 * lowest seed, the goal line, escaped text; table cells as mean±sd.
 */
import { describe, expect, it } from 'vitest'
import { byzantineChart, type ChartInit } from '../../../bench/byzantine/chart.ts'
import { summarizeSeeds } from '../../../bench/byzantine/summary.ts'
import { accuracyTable } from '../../../bench/byzantine/table.ts'

const SERIES = [
  { strategy: 'fedavg', mean: [0.82, 0.8, 0.75, 0.7], low: [0.8, 0.78, 0.62, 0.45], high: [0.84, 0.82, 0.8, 0.76] },
  { strategy: 'fedmedian', mean: [0.8, 0.8, 0.79, 0.79], low: [0.79, 0.79, 0.78, 0.78], high: [0.81, 0.81, 0.8, 0.8] },
]
const INIT: ChartInit = {
  title: 'accuracy <heart & seeds>',
  panels: [
    { attack: 'sign-flip', series: SERIES },
    { attack: 'replay', series: SERIES },
  ],
  goal: 0.8,
  goalLabel: 'clean FedAvg mean − 2 points (goal)',
  spreadLabel: 'bars: lowest to highest of the 5 seeds',
}

/** The y pixel the chart gives an accuracy, from two gridline labels (value → y). */
function gridY(svg: string, label: string): number {
  const text = new RegExp(`<text x="[\\d.]+" y="([\\d.]+)" text-anchor="end">${label}</text>`).exec(svg)
  if (text === null) throw new Error(`no gridline label ${label}`)
  return Number(text[1]) - 4
}

describe('Byzantine bench chart', () => {
  it('draws one seed-spread bar per strategy, attacker count and panel, from the lowest to the highest seed', () => {
    // Execute
    const svg = byzantineChart(INIT)

    // Assert
    const bars = [...svg.matchAll(/<line class="spread" x1="([\d.]+)" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)"/g)].map((m) => m.slice(1).map(Number))
    expect(bars).toHaveLength(2 * 2 * 4)
    // The axis runs from 0.4 (below the lowest seed, 0.45) to 1.0: FedAvg's bar at 3 attackers spans 0.45..0.76.
    const y40 = gridY(svg, '0.4')
    const y100 = gridY(svg, '1.0')
    const yOf = (a: number) => y40 + ((a - 0.4) / 0.6) * (y100 - y40)
    const [, low, high] = bars[3]!
    expect(low).toBeCloseTo(yOf(0.45), 0)
    expect(high).toBeCloseTo(yOf(0.76), 0)
    // The two strategies' points at the same count sit side by side, not on top of each other.
    expect(bars[0]![0]).not.toBe(bars[4]![0])
  })

  it('draws the goal line and escapes the labels', () => {
    // Execute
    const svg = byzantineChart(INIT)

    // Assert
    expect(svg).toContain('accuracy &lt;heart &amp; seeds>')
    expect(svg).toContain('bars: lowest to highest of the 5 seeds')
    expect(svg.match(/stroke-dasharray="4 3"/g)).toHaveLength(2 + 1)
    expect(svg.startsWith('<svg ')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
  })
})

describe('Byzantine bench accuracy table', () => {
  it('prints mean±sd in percent per cell, and the mean alone for one seed', () => {
    // Prepare
    const run = (seed: number, attack: string, attackers: number, accuracy: number) => ({
      strategy: 'krum',
      attack,
      attackers,
      seed,
      accuracy,
      loss: 0,
      excludedAttackerUpdates: 0,
      excludedHonestUpdates: 0,
      abandonedRounds: 0,
    })
    const two = summarizeSeeds([run(1, 'none', 0, 0.8), run(2, 'none', 0, 0.84), run(1, 'replay', 2, 0.7), run(2, 'replay', 2, 0.7)], [1, 2])
    const one = summarizeSeeds([run(1, 'none', 0, 0.8), run(1, 'replay', 2, 0.7)], [1])

    // Execute
    const [header, , row] = accuracyTable(two, ['krum'], ['replay'], [2])
    const [, , single] = accuracyTable(one, ['krum'], ['replay'], [2])

    // Assert
    expect(header!.split(/\s+/)).toEqual(['strategy', 'clean', 'replay×2'])
    expect(row!.split(/\s+/)).toEqual(['krum', '82.0±2.8', '70.0±0.0'])
    expect(single!.split(/\s+/)).toEqual(['krum', '80.0', '70.0'])
  })
})
