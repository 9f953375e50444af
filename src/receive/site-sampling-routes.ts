/**
 * Admin API for a site's sampling rules (sites/sampling.ts, enrich/sampling.ts), under `/api/sites`:
 * - `GET /api/sites/:id/sampling` → `{rules}`;
 * - `PUT /api/sites/:id/sampling` `{rules: [{event_type, mode, rate, window_seconds?}]}` → `{rules}`,
 *   replacing all of them (`[]` = no sampling). Strict body: an unknown field or a wrong type is a
 *   400 naming it; `window` mode needs `window_seconds`.
 */
import type { FastifyInstance } from 'fastify'
import type { SamplingRule } from '../enrich/sampling.ts'
import type { SamplingStore } from '../sites/sampling.ts'
import { ValidationError } from '../errors.ts'
import { checkAdmin } from './admin-auth.ts'
import { strictBodyCompiler } from './strict-body.ts'
import { siteIdParams as params } from './site-secrets-routes.ts'

export interface SiteSamplingOptions {
  sampling: SamplingStore
  adminToken: string | undefined
}

const ruleSchema = {
  type: 'object',
  required: ['event_type', 'mode', 'rate'],
  additionalProperties: false,
  properties: {
    event_type: { type: 'string', minLength: 1, maxLength: 50 },
    mode: { type: 'string', enum: ['random', 'visitor', 'window'] },
    rate: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    window_seconds: { type: 'integer', minimum: 1, maximum: 86_400 },
  },
}

interface RuleBody {
  event_type: string
  mode: SamplingRule['mode']
  rate: number
  window_seconds?: number
}

const out = (rules: SamplingRule[]) => ({
  rules: rules.map((r) => ({
    event_type: r.eventType,
    mode: r.mode,
    rate: r.rate,
    ...(r.windowSeconds !== null ? { window_seconds: r.windowSeconds } : {}),
  })),
})

const rulesResponse = {
  200: { type: 'object', properties: { rules: { type: 'array', items: ruleSchema } } },
}

export async function siteSamplingPlugin(app: FastifyInstance, opts: SiteSamplingOptions): Promise<void> {
  app.addHook('onRequest', async (req) => checkAdmin(req, opts.adminToken))
  // Bodies exactly as sent: no type coercion, unknown fields refused (strict-body.ts).
  app.setValidatorCompiler(strictBodyCompiler)
  app.get<{ Params: { id: string } }>(
    '/:id/sampling',
    { schema: { params, response: rulesResponse } },
    async (req) => out(await opts.sampling.get(req.params.id)),
  )
  app.put<{ Params: { id: string }; Body: { rules: RuleBody[] } }>(
    '/:id/sampling',
    {
      schema: {
        params,
        body: {
          type: 'object',
          required: ['rules'],
          additionalProperties: false,
          properties: { rules: { type: 'array', maxItems: 100, items: ruleSchema } },
        },
        response: rulesResponse,
      },
    },
    async (req) => {
      const seen = new Set<string>()
      const rules = req.body.rules.map((r, i): SamplingRule => {
        if (seen.has(r.event_type))
          throw new ValidationError(`body.rules.${i}.event_type`, `${r.event_type} has two rules`)
        seen.add(r.event_type)
        if (r.mode === 'window' && r.window_seconds === undefined)
          throw new ValidationError(`body.rules.${i}.window_seconds`, 'is required in window mode')
        return {
          eventType: r.event_type,
          mode: r.mode,
          rate: r.rate,
          windowSeconds: r.window_seconds ?? null,
        }
      })
      return out(await opts.sampling.set(req.params.id, rules))
    },
  )
}
