/**
 * The MLP the size benches train or aggregate: hidden layers of equal width,
 * as many as needed (≤ 8 layers of ≤ 4096 units, the spec's cap on width) to
 * reach about `millions` parameters for a schema of `inputWidth` features.
 */
export function hiddenFor(millions: number, inputWidth: number): number[] {
  const target = millions * 1e6
  for (let layers = 1; layers <= 8; layers++) {
    // Parameters of `layers` hidden layers of width w: (in+1)w + (layers−1)(w+1)w + (w+1).
    for (let w = 16; w <= 4096; w++) if ((inputWidth + 1) * w + (layers - 1) * (w + 1) * w + w + 1 >= target) return Array(layers).fill(w)
  }
  throw new Error(`no MLP of ≤ 8 layers of ≤ 4096 units has ${millions}M parameters`)
}
