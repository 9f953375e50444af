/**
 * Namespaces in REST paths and queries. Multi-level namespaces are joined by the unit separator
 * 0x1F (URL-encoded `%1F`), the spec's default `namespace-separator`, which Floe does not override.
 * Fastify has already percent-decoded path params and query values when these run.
 */
import { checkNamespace } from '../commit/identifier.ts'
import { badRequest } from './rest-errors.ts'

export const NAMESPACE_SEPARATOR = '\x1f'

/**
 * `a%1Fb` (decoded `a\x1Fb`) → `['a', 'b']`; empty levels, and levels that are no safe identifier
 * (`..%2Foutside`: see commit/identifier.ts), are a client error (400).
 */
export function decodeNamespace(param: string): string[] {
  const levels = param.split(NAMESPACE_SEPARATOR)
  if (levels.some((l) => l === '')) throw badRequest(`namespace: empty level in "${param}"`)
  checkNamespace(levels)
  return levels
}

const sameLevels = (a: string[], b: string[]): boolean =>
  a.length === b.length && a.every((l, i) => l === b[i])

const startsWith = (ns: string[], prefix: string[]): boolean =>
  ns.length >= prefix.length && prefix.every((l, i) => ns[i] === l)

/**
 * The direct children of `parent` (top level when `parent` is empty) among all known namespaces:
 * `accounting.tax.paid` under `accounting` lists `['accounting','tax']` (spec: listNamespaces).
 */
export function childNamespaces(all: string[][], parent: string[]): string[][] {
  const out: string[][] = []
  for (const ns of all) {
    if (ns.length <= parent.length || !startsWith(ns, parent)) continue
    const child = ns.slice(0, parent.length + 1)
    if (!out.some((o) => sameLevels(o, child))) out.push(child)
  }
  return out
}

/**
 * A namespace exists when it is known itself or is an ancestor of a known one (as Java's
 * JdbcCatalog treats `a` as existing when only `a.b` has rows).
 */
export function namespaceExists(all: string[][], ns: string[]): boolean {
  return all.some((n) => startsWith(n, ns))
}
