/**
 * The study a stored log holds: its entries folded into a `StudyState`, read
 * from a store a running process may hold (as a consistent snapshot;
 * `onSnapshot` says when). For the commands that only read the log.
 */
import { Ledger, openStoreForReading, type StoreSnapshot } from '../../ledger/index.ts'
import { StudyState, readLineageRecord } from '../../protocol/index.ts'

export async function foldStoredStudy(dbDir: string, init: { readonly onSnapshot?: (snapshot: StoreSnapshot) => void } = {}): Promise<StudyState> {
  const ledger = await Ledger.open(await openStoreForReading(dbDir, init))
  try {
    const state = new StudyState()
    for await (const { entry } of ledger.scan()) state.apply(readLineageRecord(entry))
    return state
  } finally {
    await ledger.close()
  }
}
