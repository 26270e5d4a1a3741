/**
 * What a hospital's IT person should look at before the site trains on its
 * data: things that prepare without an error but are probably wrong. A label
 * value outside `label.positive` trains as negative, an unknown category drops
 * its row, and a site with a handful of rows or one class still trains: each
 * is said here, by name and count, instead of hiding in "(1 dropped)".
 */

/** Fewer training rows than this get a warning: a model learns little from them. */
export const FEW_TRAIN_ROWS = 30
/** How many distinct values a warning lists before it says "and N more". */
const LISTED_VALUES = 5

/** What prepare counted on the way, for the warnings. */
export interface DataObservations {
  readonly labelColumn: string
  readonly positive: readonly string[]
  /** Raw label values read as negative (class 0), with their row counts. */
  readonly negativeLabels: ReadonlyMap<string, number>
  /** Per categorical feature: the raw values not among its categories, with the rows they dropped. */
  readonly unknownCategories: ReadonlyMap<string, ReadonlyMap<string, number>>
  readonly train: { readonly rows: number; readonly positives: number }
}

function listed(values: ReadonlyMap<string, number>): string {
  const sorted = [...values].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  const shown = sorted.slice(0, LISTED_VALUES).map(([v, n]) => `${JSON.stringify(v)} (${n})`)
  return sorted.length > LISTED_VALUES ? `${shown.join(', ')} and ${sorted.length - LISTED_VALUES} more` : shown.join(', ')
}

/** The warnings for data prepared with these observations, most important first; empty when nothing looks wrong. */
export function dataWarnings(o: DataObservations): string[] {
  const out: string[] = []
  // One negative value is a binary label's other class; several mean some are typos or classes of their own.
  if (o.negativeLabels.size > 1) {
    const rows = [...o.negativeLabels.values()].reduce((a, b) => a + b, 0)
    out.push(
      `label column ${JSON.stringify(o.labelColumn)}: ${rows} rows count as negative with ${o.negativeLabels.size} different values, ${listed(o.negativeLabels)}; only ${o.positive.map((p) => JSON.stringify(p)).join(', ')} count as positive: if a value is a typo or a class of its own, fix the file or the study's label.positive`,
    )
  }
  for (const [feature, values] of o.unknownCategories) {
    const rows = [...values.values()].reduce((a, b) => a + b, 0)
    out.push(`feature ${JSON.stringify(feature)}: ${rows} rows dropped for values that are not among its categories: ${listed(values)}; fix the file or add the categories to the study's schema`)
  }
  if (o.train.rows < FEW_TRAIN_ROWS) out.push(`only ${o.train.rows} training rows after preparation: too few for the model to learn from reliably; check the file and the drops above`)
  if (o.train.rows > 0 && (o.train.positives === 0 || o.train.positives === o.train.rows)) {
    const only = o.train.positives === 0 ? 'negative' : 'positive'
    out.push(`every training row is ${only} (${o.train.rows} rows): the model cannot learn the other class from this site; check the label column and label.positive`)
  }
  return out
}
