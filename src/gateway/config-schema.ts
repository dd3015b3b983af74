// JSON Schema of inferstack.yaml (validated with ajv). Unknown keys are errors, so a typo is
// reported by name instead of silently ignored.
import { ENGINE_TYPES } from '../engines/engine-types.ts';

const positiveInt = { type: 'integer', minimum: 1 } as const;
const nonNegativeInt = { type: 'integer', minimum: 0 } as const;

const endpoint = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'engine'],
  properties: {
    url: { type: 'string', pattern: '^https?://' },
    engine: { enum: [...ENGINE_TYPES] },
    role: { enum: ['prefill', 'decode', 'both'] },
    maxConcurrency: positiveInt,
    apiKey: { type: 'string', minLength: 1 },
    bootstrapPort: { type: 'integer', minimum: 1, maximum: 65535 },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: { connectMs: positiveInt, firstByteMs: positiveInt, idleMs: positiveInt },
    },
  },
} as const;

const pool = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'models', 'endpoints'],
  properties: {
    name: { type: 'string', minLength: 1 },
    models: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    adapters: { type: 'array', items: { type: 'string', minLength: 1 } },
    policy: { type: 'string', minLength: 1 },
    seed: { type: 'integer' },
    saturation: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['queueDepth', 'kvUsage'],
          properties: { queueDepth: nonNegativeInt, kvUsage: { type: 'number', minimum: 0, maximum: 1 } },
        },
      ],
    },
    disaggregation: {
      type: 'object',
      additionalProperties: false,
      properties: { threshold: nonNegativeInt },
    },
    endpoints: { type: 'array', minItems: 1, maxItems: 1024, items: endpoint },
  },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['pools'],
  properties: {
    listeners: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          host: { type: 'string', minLength: 1 },
          port: { type: 'integer', minimum: 0, maximum: 65535 },
          tls: {
            type: 'object',
            additionalProperties: false,
            required: ['cert', 'key'],
            properties: { cert: { type: 'string' }, key: { type: 'string' }, pq: { enum: ['strict', 'prefer', 'off'] } },
          },
        },
      },
    },
    apiKeys: { type: 'array', maxItems: 10_000, items: { type: 'string', minLength: 8 } },
    logLevel: { enum: ['debug', 'info', 'warn', 'error'] },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxBodyBytes: positiveInt,
        maxRetries: { type: 'integer', minimum: 0, maximum: 10 },
        queueSize: nonNegativeInt,
        queueTimeoutMs: positiveInt,
      },
    },
    signals: {
      type: 'object',
      additionalProperties: false,
      properties: {
        scrapeIntervalMs: positiveInt,
        probeTimeoutMs: positiveInt,
        healthIntervalMs: positiveInt,
        failureThreshold: positiveInt,
        cooldownMs: positiveInt,
      },
    },
    pools: { type: 'array', minItems: 1, maxItems: 256, items: pool },
  },
} as const;
