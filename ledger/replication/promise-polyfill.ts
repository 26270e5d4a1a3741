/**
 * libp2p 3 calls Promise.withResolvers, which Node 20 lacks (Node 22 has
 * it). Imported first by ledger/replication.ts, so every process that can
 * start a replica gets it, and no entry point has to remember to.
 */
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor) {
      let resolve!: (v: T | PromiseLike<T>) => void
      let reject!: (e: unknown) => void
      const promise = new this<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

export {}
