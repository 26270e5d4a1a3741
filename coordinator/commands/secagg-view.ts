/**
 * What a log says of its secure-aggregation rounds: per committed round, the
 * survivors, the sites that dropped out after sharing, the reveals and the
 * round's k and t. Read from the log alone (a store a running process holds
 * is read as a snapshot), for the demo's summary and for people.
 */
import { foldStoredStudy } from './stored-study.ts'

export interface SecAggRoundView {
  readonly round: number
  readonly survivors: readonly string[]
  readonly dropped: readonly string[]
  readonly reveals: number
  readonly k: number
  readonly t: number
}

/** The committed secure-aggregation rounds of the log in `dbDir`, in round order (empty for a study without). */
export async function secAggRoundsOf(dbDir: string): Promise<SecAggRoundView[]> {
  const state = await foldStoredStudy(dbDir)
  return [...state.rounds.values()].flatMap((r) => {
    const sa = r.secagg
    if (sa?.u1 === undefined || sa.u3 === undefined || r.commit === undefined) return []
    return [{ round: r.round, survivors: sa.u3, dropped: r.commit.body.secagg?.dropped ?? [], reveals: sa.reveals.size, k: sa.u1.k, t: sa.u1.t }]
  })
}
