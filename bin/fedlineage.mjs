#!/usr/bin/env node
// The `fedlineage` executable: runs the TypeScript sources through tsx, so
// there is no build step between a clone and a running federation.
import { register } from 'tsx/esm/api'

// libp2p 3 needs Promise.withResolvers, which Node 20 lacks.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve
    let reject
    const promise = new this((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

register()
await import('./fedlineage.ts')
