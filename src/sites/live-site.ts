/**
 * The one check that a site id names a live (not soft-deleted) site, for the stores that hang data
 * off sites (keys, signing secrets). `query` is the store's own, so database outages are reported
 * the way that store reports them (SiteStoreUnavailableError).
 */
import { SiteNotFoundError } from '../errors.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The site id in its stored (lower-case) form; SiteNotFoundError when it is not a live site. */
export async function liveSiteId(
  query: (text: string, params: unknown[]) => Promise<{ rows: unknown[] }>,
  siteId: string,
): Promise<string> {
  if (!UUID.test(siteId)) throw new SiteNotFoundError(siteId)
  const id = siteId.toLowerCase()
  const { rows } = await query('SELECT 1 FROM floe_sites WHERE site_id = $1 AND deleted_at IS NULL', [id])
  if (rows.length === 0) throw new SiteNotFoundError(siteId)
  return id
}
