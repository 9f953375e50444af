/**
 * Iceberg identifiers (namespace levels, table names) as Floe accepts them, checked once at the
 * catalog boundary for every catalog type (`createCatalog` wraps each catalog in
 * `validatingCatalog`) and by the REST endpoint before it touches the catalog.
 *
 * Catalogs that keep tables as folders (hadoop, and every catalog's default table location) build
 * storage paths from these names: `<warehouse>/<ns levels…>/<table>`. A level such as
 * `../../outside` would leave the warehouse, so names holding `/`, `\`, `..`, NUL or any control
 * character are refused, and `locationUnder` proves the joined location stays under the root.
 */
import { InvalidIdentifierError, OutsideWarehouseError } from '../errors.ts'
import type { TableIdentifier } from '../table/catalog.ts'

// Control characters (C0, DEL, C1), path separators, and two dots anywhere.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\]|\.\./

/** Throws InvalidIdentifierError (400, naming `field`) unless `name` is a safe identifier part. */
export function checkName(field: 'namespace' | 'table', name: string): void {
  if (typeof name !== 'string' || name === '' || name === '.')
    throw new InvalidIdentifierError(field, 'must be a non-empty name')
  if (name.length > 255) throw new InvalidIdentifierError(field, 'must be at most 255 characters')
  if (FORBIDDEN.test(name))
    throw new InvalidIdentifierError(
      field,
      `"${printable(name)}" must not contain "/", "\\", "..", NUL or control characters`,
    )
}

export function checkNamespace(namespace: readonly string[]): void {
  if (namespace.length === 0) throw new InvalidIdentifierError('namespace', 'must have at least one level')
  for (const level of namespace) checkName('namespace', level)
}

export function checkIdentifier(id: TableIdentifier): void {
  checkNamespace(id.namespace)
  checkName('table', id.name)
}

/** Control characters shown as `\xNN`, so the message itself stays one clean line. */
function printable(s: string): string {
  return s.slice(0, 100).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`)
}

/**
 * `<root>/<segments…>`, after proving the result stays under `root` (URI or path, with or without a
 * trailing slash). Segments are checked as identifier parts, and the joined string is checked
 * again lexically, so a change to the checks above cannot open a way out on its own.
 */
export function locationUnder(root: string, segments: readonly string[]): string {
  const base = root.replace(/\/+$/, '')
  const location = [base, ...segments].join('/')
  assertUnder(location, base)
  return location
}

/** Throws OutsideWarehouseError unless `location` is `root` or below it, with no `.`/`..` segment. */
export function assertUnder(location: string, root: string): void {
  const base = root.replace(/\/+$/, '')
  const rest = location.startsWith(base + '/') ? location.slice(base.length + 1) : undefined
  if (location !== base && (rest === undefined || rest.split('/').some((s) => s === '..' || s === '.')))
    throw new OutsideWarehouseError(location, base)
}
