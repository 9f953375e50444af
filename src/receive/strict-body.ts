/**
 * A validator compiler for admin routes whose bodies must be taken exactly as sent. Fastify's
 * default Ajv coerces types (`"domains":"notalist"` became `["notalist"]`) and silently removes
 * properties that `additionalProperties: false` forbids; here bodies are neither coerced nor
 * trimmed, so such input is a 400 naming the field. Querystrings and params keep coercion: they
 * are strings on the wire (`?includeDeleted=true`).
 */
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsPlugin from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

// ajv-formats is CommonJS with its function on `default` under ESM interop.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv

const strict = addFormats(
  new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: false, strict: false }),
)
const coercing = addFormats(new Ajv({ coerceTypes: 'array', useDefaults: true, strict: false }))

export const strictBodyCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const validate: ValidateFunction = (httpPart === 'body' ? strict : coercing).compile(schema as object)
  return (data: unknown) =>
    validate(data)
      ? { value: data }
      : {
          error: Object.assign(
            new Error(
              validate.errors?.map((e) => `${e.instancePath || httpPart} ${e.message}`).join(', ') ??
                'invalid',
            ),
            { validation: validate.errors, validationContext: httpPart, statusCode: 400 },
          ),
        }
}
