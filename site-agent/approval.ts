/**
 * The site's approval file (`approval` in site.json), written by `fedlineage
 * study approve`: the signed `approval` statement of a spec hash, as JSON
 * with the statement's bytes in hex. The agent reads it, checks it is this
 * site's own signature for this study, and submits the statement unchanged
 * (so a re-send is recognised as the same bytes).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { fromHex, toHex, type Signer } from '../ledger/index.ts'
import { decodeStatement, signStatement, verifyStatement, type ApprovalStatement, type SignedStatement } from '../protocol/index.ts'
import { SiteConfigError } from './errors.ts'

export interface ApprovalFile {
  readonly study: string
  readonly site: string
  /** The approved spec hash, 64 hex digits. */
  readonly spec: string
  readonly statement: { readonly body: string; readonly signature: string }
}

/** Signs an approval of `specHash` by `signer` for `site` in `study`. */
export function signApproval(signer: Signer, study: string, site: string, specHash: Uint8Array, timeMs: number): SignedStatement {
  return signStatement(signer, { t: 'approval', study, site, spec: specHash, time: timeMs })
}

/** Writes a signed approval as an approval file. */
export async function writeApprovalFile(file: string, signed: SignedStatement): Promise<ApprovalFile> {
  const st = decodeStatement('approval', signed.body)
  const out: ApprovalFile = { study: st.study, site: st.site, spec: toHex(st.spec), statement: { body: toHex(signed.body), signature: toHex(signed.signature) } }
  await writeFile(file, `${JSON.stringify(out, null, 2)}\n`)
  return out
}

/** Reads an approval file and checks it is `site`'s approval in `study`, signed by `publicKey`. */
export async function readApprovalFile(file: string, site: string, study: string, publicKey: Uint8Array): Promise<{ statement: ApprovalStatement; signed: SignedStatement }> {
  let signed: SignedStatement
  let statement: ApprovalStatement
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<ApprovalFile>
    signed = { body: fromHex(value.statement?.body ?? ''), signature: fromHex(value.statement?.signature ?? '') }
    statement = decodeStatement('approval', signed.body)
  } catch (err) {
    throw new SiteConfigError(`approval ${file}: ${(err as Error).message}; write it with \`fedlineage study approve\``, { cause: err })
  }
  if (statement.site !== site || statement.study !== study)
    throw new SiteConfigError(`approval ${file}: approves study "${statement.study}" for site "${statement.site}", this site is "${site}" in "${study}"`)
  if (!verifyStatement(publicKey, signed)) throw new SiteConfigError(`approval ${file}: not signed by this site's key (${toHex(publicKey)})`)
  return { statement, signed }
}
