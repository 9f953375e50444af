/** The one error for JSON text Floe cannot accept (syntax, or nesting over MAX_JSON_DEPTH). */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError'
}
