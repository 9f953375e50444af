/**
 * What Floe's REST commit endpoint (`POST /v1/{prefix}/namespaces/{ns}/tables/{table}`, body
 * `CommitTableRequest`) accepts. Parsing, requirement checks and applying the updates are the commit
 * core's (`src/table/`: `parseRequirements`, `parseUpdates`, then the backing catalog's `commit`,
 * which checks the requirements against the current metadata and applies the updates with
 * `applyUpdates`, the same code every Floe commit goes through). This file adds only the endpoint's
 * policy: Floe's tables are append-only through it, so the updates must be exactly what Floe's,
 * PyIceberg's and Java's appends send (`add-snapshot` of an `append` + `set-snapshot-ref` of `main`
 * to it, plus Floe's own `set-properties` of its WAL position `floe.wal-seq.<writer-id>`); anything
 * else is 406.
 */
import { UnsupportedUpdateError } from '../errors.ts'
import type { Snapshot } from '../table/metadata.ts'
import type { TableUpdate } from '../table/updates.ts'

/** Keys a Floe writer sets in its append commits (src/buffer/recovery.ts, `propertiesFor`). */
const isWalPosition = (key: string): boolean => key.startsWith('floe.wal-seq.')

/** The snapshot an append's updates add; UnsupportedUpdateError for anything that is not an append. */
export function appendFromUpdates(updates: readonly TableUpdate[]): Snapshot {
  let snapshot: Snapshot | undefined
  let mainRef: bigint | undefined
  for (const u of updates) {
    if (u.action === 'add-snapshot') {
      if (snapshot !== undefined)
        throw new UnsupportedUpdateError('only one add-snapshot per commit is supported')
      snapshot = u.snapshot
    } else if (u.action === 'set-properties' && Object.keys(u.updates).every(isWalPosition)) {
      // Floe's own appends carry their committed WAL position (`floe.wal-seq.<writer-id>`) this way.
    } else if (u.action === 'set-snapshot-ref') {
      if (u['ref-name'] !== 'main' || u.type !== 'branch')
        throw new UnsupportedUpdateError('set-snapshot-ref: only the main branch can be moved through Floe')
      mainRef = u['snapshot-id']
    } else {
      throw new UnsupportedUpdateError(
        `update "${u.action}" is not supported: Floe's REST endpoint accepts appends only (add-snapshot + set-snapshot-ref main)`,
      )
    }
  }
  if (snapshot === undefined)
    throw new UnsupportedUpdateError('commit must add a snapshot (add-snapshot); nothing else is supported')
  if (mainRef !== snapshot['snapshot-id'])
    throw new UnsupportedUpdateError(
      'the added snapshot must become main (set-snapshot-ref main to the added snapshot id)',
    )
  const operation = snapshot.summary.operation
  if (operation !== 'append')
    throw new UnsupportedUpdateError(`snapshot operation "${operation}" is not supported; only append`)
  return snapshot
}
