/**
 * Reads a task stream ahead of the agent that handles it. The agent handles
 * one task at a time (training takes minutes), while a task that changes
 * the one in hand (the hub's `cancel` of a round) must be seen as it
 * arrives, not after. `tasksAhead` drains the source as fast as it yields,
 * tells `onArrive` of each task at once, and hands the tasks on in order; an
 * error of the source is thrown where it falls in that order.
 */
export async function* tasksAhead<T>(source: AsyncIterable<T>, onArrive: (task: T) => void): AsyncGenerator<T> {
  const queue: ({ task: T } | { error: unknown } | { end: true })[] = []
  let wake: (() => void) | undefined
  const push = (item: (typeof queue)[number]) => {
    queue.push(item)
    wake?.()
    wake = undefined
  }
  void (async () => {
    try {
      for await (const task of source) {
        onArrive(task)
        push({ task })
      }
      push({ end: true })
    } catch (error) {
      push({ error })
    }
  })()
  try {
    for (;;) {
      if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve))
      const item = queue.shift()!
      if ('end' in item) return
      if ('error' in item) throw item.error
      yield item.task
    }
  } finally {
    // The consumer stopped early (done, or an error while handling): end the source too (at its next message;
    // the agent's client closes its streams when the run ends).
    void Promise.resolve((source as { return?: () => unknown }).return?.()).catch(() => undefined)
  }
}
