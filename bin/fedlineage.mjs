#!/usr/bin/env node
// The `fedlineage` executable: runs the TypeScript sources through tsx, so
// there is no build step between a clone and a running federation.
import { register } from 'tsx/esm/api'

register()
await import('./fedlineage.ts')
