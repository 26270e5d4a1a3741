/**
 * The store's format version: a store written before checkpoints were C2SP
 * signed notes (no `rec/format` record) is refused with a code and a next
 * step, rather than misread; a current store carries version 2.
 */
import { describe, expect, it } from 'vitest'
import { Ledger, openLevelStorage } from '../../ledger/index.ts'
import { createLedger, testDrafts, withRawLevel } from '../helpers/ledger.ts'

describe('store format', () => {
  it('records format 2 with the first entry, and reopens', async () => {
    // Prepare
    const f = await createLedger()
    await f.ledger.appendWithCheckpoint(f.signer, testDrafts(3), [], { origin: 'format-test' })
    await f.close()
    // Execute
    const format = await withRawLevel(f.dir, (db) => db.get('rec/format'))
    const reopened = await Ledger.open(await openLevelStorage(f.dir))
    // Assert
    expect(new TextDecoder().decode(format!)).toBe('2')
    expect(reopened.length).toBe(3)
    await reopened.close()
  })

  it('refuses a store of the format before (no format record) with LEDGER_STORE_FORMAT and what to do', async () => {
    // Prepare
    const f = await createLedger()
    await f.ledger.append(f.signer, testDrafts(3))
    await f.close()
    await withRawLevel(f.dir, (db) => db.del('rec/format'))
    // Execute + Assert
    await expect(Ledger.open(await openLevelStorage(f.dir))).rejects.toMatchObject({
      code: 'LEDGER_STORE_FORMAT',
      message: expect.stringContaining('start the study'),
    })
  })
})
