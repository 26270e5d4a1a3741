/**
 * Where a replica node listens and what it announces, checked before a node
 * starts, so that a config names its mistake instead of libp2p failing later
 * with a codec error. Replicas speak TCP only (`@libp2p/tcp`): a listen
 * address is an IP and a port (`/ip4/0.0.0.0/tcp/4001`), and an announced
 * address may also be a DNS name (`/dns4/hub.example.org/tcp/4001`), which
 * peers resolve when they dial.
 */
import { multiaddr } from '@multiformats/multiaddr'

const LISTEN_SHAPE = /^\/(ip4|ip6)\/[^/]+\/tcp\/(\d{1,5})$/
const ANNOUNCE_SHAPE = /^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/(\d{1,5})$/

/**
 * What is wrong with `addr` as a replica's `use` address, or undefined when
 * it is fine. An announced address needs a real port (peers dial it); a
 * listen address may take port 0 (a free one, as tests and the demo do).
 */
export function replicaAddressProblem(addr: string, use: 'listen' | 'announce'): string | undefined {
  const example = use === 'listen' ? '/ip4/0.0.0.0/tcp/4001' : '/dns4/hub.example.org/tcp/4001 or /ip4/203.0.113.7/tcp/4001'
  try {
    multiaddr(addr)
  } catch (err) {
    return `"${addr}" is not a multiaddr (${(err as Error).message}); write it like ${example}`
  }
  const m = (use === 'listen' ? LISTEN_SHAPE : ANNOUNCE_SHAPE).exec(addr)
  if (m === null)
    return use === 'listen'
      ? `"${addr}" is not a TCP address to listen on: replicas listen on an IP and a TCP port, like ${example} (names and /p2p/ belong in announce and peers)`
      : `"${addr}" is not a TCP address to announce: give a host (IP or DNS name) and a TCP port, like ${example}, without /p2p/ (the node adds its own peer id)`
  const port = Number(m[2])
  if (port > 65_535) return `"${addr}": port ${port} is above 65535`
  if (use === 'announce' && port === 0) return `"${addr}": port 0 cannot be dialed; announce the port the replica listens on (set a fixed port in listen, e.g. /ip4/0.0.0.0/tcp/4001)`
  return undefined
}
