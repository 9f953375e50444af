/**
 * Errors of the Iceberg REST endpoint, in the protocol's own shape (`IcebergErrorResponse`:
 * `{"error":{"message","type","code"}}`). REST clients (Java `ErrorHandlers`, PyIceberg, iceberg-js)
 * branch on the HTTP status and the exception `type`, so both follow the OpenAPI spec's names.
 *
 * The rest of Floe maps its typed errors to HTTP once in `src/receive/`; this endpoint speaks a
 * different error dialect, so it has its own mapping, applied only inside the plugin's scope.
 */
import {
  CommitConflictError,
  CommitStateUnknownError,
  FloeError,
  InvalidCommitError,
  NoSuchTableError,
  OutsideWarehouseError,
  UnsupportedUpdateError,
  ValidationError,
} from '../errors.ts'
import { JsonSyntaxError } from '../table/json.ts'

export interface IcebergErrorResponse {
  error: { message: string; type: string; code: number }
}

/** An error with the HTTP status and Iceberg exception type the REST client should see. */
export class IcebergRestError extends FloeError {
  override name = 'IcebergRestError'
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message)
  }
}

export const badRequest = (message: string): IcebergRestError =>
  new IcebergRestError(400, 'BadRequestException', message)
export const notAuthorized = (message: string): IcebergRestError =>
  new IcebergRestError(401, 'NotAuthorizedException', message)
export const noSuchNamespace = (ns: string[]): IcebergRestError =>
  new IcebergRestError(404, 'NoSuchNamespaceException', `Namespace does not exist: ${ns.join('.')}`)
export const noSuchTable = (ns: string[], name: string, why?: string): IcebergRestError =>
  new IcebergRestError(
    404,
    'NoSuchTableException',
    `Table does not exist: ${[...ns, name].join('.')}${why ? ` (${why})` : ''}`,
  )
export const unsupported = (message: string): IcebergRestError =>
  new IcebergRestError(406, 'UnsupportedOperationException', message)
export const alreadyExists = (message: string): IcebergRestError =>
  new IcebergRestError(409, 'AlreadyExistsException', message)
export const commitFailed = (message: string): IcebergRestError =>
  new IcebergRestError(409, 'CommitFailedException', message)

export function errorBody(code: number, type: string, message: string): IcebergErrorResponse {
  return { error: { message, type, code } }
}

/**
 * Any thrown value → status + IcebergErrorResponse. Commit outcomes follow the spec's commit
 * endpoint: a lost compare-and-swap is 409 (client reloads and retries on the new parent); an
 * unknown outcome is 500 CommitStateUnknownException (client must reload and look, never re-send).
 */
export function toIcebergError(err: unknown): IcebergErrorResponse {
  if (err instanceof IcebergRestError) return errorBody(err.code, err.type, err.message)
  if (err instanceof CommitConflictError) return errorBody(409, 'CommitFailedException', err.message)
  if (err instanceof CommitStateUnknownError)
    return errorBody(500, 'CommitStateUnknownException', err.message)
  if (err instanceof NoSuchTableError) return errorBody(404, 'NoSuchTableException', err.message)
  // Bad names (InvalidIdentifierError) and locations outside the warehouse are the client's.
  if (err instanceof ValidationError || err instanceof OutsideWarehouseError)
    return errorBody(400, 'BadRequestException', err.message)
  if (err instanceof InvalidCommitError) return errorBody(400, 'BadRequestException', err.message)
  if (err instanceof UnsupportedUpdateError)
    return errorBody(406, 'UnsupportedOperationException', err.message)
  if (err instanceof JsonSyntaxError)
    return errorBody(400, 'BadRequestException', `invalid JSON: ${err.message}`)
  const e = err as { validation?: unknown; statusCode?: number; message?: string } | undefined
  // Fastify's own errors: schema validation (400 with `validation`), body too large, bad media type.
  if (e?.validation !== undefined) return errorBody(400, 'BadRequestException', String(e.message))
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return errorBody(e.statusCode, 'BadRequestException', String(e.message))
  return errorBody(
    500,
    'ServiceFailureException',
    'internal error in the Iceberg REST endpoint; see Floe logs',
  )
}
