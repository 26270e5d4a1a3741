/**
 * libp2p 3 needs Promise.withResolvers, which Node 20 lacks
 * (bin/fedlineage.mjs and test/helpers/setup.ts polyfill it too).
 * Import first, before anything that starts a libp2p node.
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
