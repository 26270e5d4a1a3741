/** Reads commander's help text back into its sections, for tests of how help is grouped. */

/**
 * Each heading of a help text (`Options:`, `Research hub:`) with the first
 * word of each item under it (`coordinator`, `-h,`), in order. Wrapped
 * description lines, indented deeper than items, are skipped.
 */
export function helpSections(text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of text.split('\n')) {
    const heading = /^(\S.*:)$/.exec(line)
    if (heading) {
      current = []
      sections.set(heading[1]!, current)
      continue
    }
    const item = /^ {2}(\S+)/.exec(line)
    if (item && current) current.push(item[1]!)
  }
  return sections
}

/** The sections that list commands: every one but `Options:`. */
export function commandSections(text: string): Map<string, string[]> {
  return new Map([...helpSections(text)].filter(([heading]) => heading !== 'Options:'))
}
