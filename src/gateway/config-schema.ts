// JSON Schema of inferstack.yaml (validated with ajv). Unknown keys are errors, so a typo is
// reported by name instead of silently ignored.
import { ENGINE_TYPES } from '../engines/engine-types.ts';
import { DTYPES } from '../physics/dtype.ts';

const positiveInt = { type: 'integer', minimum: 1 } as const;
const nonNegativeInt = { type: 'integer', minimum: 0 } as const;

const path = { type: 'string', minLength: 1 } as const;

// Engine TLS profile of an https endpoint (src/trust/tls.ts): post-quantum mode, the CA that signed
// the engine's certificate, and a client certificate + key for mutual TLS.
const engineTls = {
  type: 'object',
  additionalProperties: false,
  properties: { pq: { enum: ['strict', 'prefer', 'off'] }, ca: path, cert: path, key: path, servername: { type: 'string', minLength: 1 } },
} as const;

// An engine somewhere (`url`), or for engine `local` a GGUF file this process serves itself with the
// embedded llama.cpp engine (`path`, or `models` for several names). config.ts checks which of the
// three an endpoint gives, so the error can say so in one line.
const endpoint = {
  type: 'object',
  additionalProperties: false,
  required: ['engine'],
  properties: {
    url: { type: 'string', pattern: '^https?://' },
    engine: { enum: [...ENGINE_TYPES] },
    path,
    kvEvents: {
      type: 'object',
      additionalProperties: false,
      required: ['endpoint'],
      properties: {
        endpoint: { type: 'string', pattern: '^tcp://' },
        replayEndpoint: { type: 'string', pattern: '^tcp://' },
        topic: { type: 'string', maxLength: 1024 },
        dataParallelSize: { type: 'integer', minimum: 1, maximum: 256 },
      },
    },
    models: {
      type: 'array',
      minItems: 1,
      maxItems: 256,
      items: { type: 'object', additionalProperties: false, required: ['name', 'path'], properties: { name: { type: 'string', minLength: 1 }, path } },
    },
    role: { enum: ['prefill', 'decode', 'both'] },
    maxConcurrency: positiveInt,
    apiKey: { type: 'string', minLength: 1 },
    bootstrapPort: { type: 'integer', minimum: 1, maximum: 65535 },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: { connectMs: positiveInt, firstByteMs: positiveInt, idleMs: positiveInt },
    },
    tls: engineTls,
  },
} as const;

// What the pool's engines run, for the inferstack policy's step-time model (pool-hardware.ts checks
// the ids against the physics catalogs, so the error lists the known ones).
const hardware = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'gpu'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 4096 },
    gpu: { type: 'string', minLength: 1, maxLength: 256 },
    tp: { type: 'integer', minimum: 1, maximum: 4096 },
    dtype: { enum: [...DTYPES] },
    kvDtype: { enum: [...DTYPES] },
    engine: { enum: ['vllm', 'trtllm'] },
  },
} as const;

// Where the gateway gets a prompt's token ids (prompt-tokenizer.ts): the model's tokenizer.json and
// chat template (`file`), the engines' /tokenize (`engine`), or the built-in tokenizer (`builtin`).
// config.ts checks which keys go with which source, and picks the default.
const tokenizer = {
  type: 'object',
  additionalProperties: false,
  required: ['source'],
  properties: { source: { enum: ['file', 'engine', 'builtin'] }, path, config: path, chatTemplate: path, timeoutMs: positiveInt },
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
    hardware,
    tokenizer,
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
    // The embedded llama.cpp engine that serves every `engine: local` endpoint with a path.
    localEngine: {
      type: 'object',
      additionalProperties: false,
      properties: {
        memoryBudgetBytes: positiveInt,
        idleTimeoutMs: nonNegativeInt,
        parallelSequences: { type: 'integer', minimum: 1, maximum: 256 },
        contextSize: { type: 'integer', minimum: 16, maximum: 1_048_576 },
        threads: { type: 'integer', minimum: 1, maximum: 1024 },
      },
    },
    // Model artifacts the embedded engine reads are checked against this lock before any parser sees them.
    trust: {
      type: 'object',
      additionalProperties: false,
      properties: { lock: path, allowUnpinned: { type: 'boolean' }, allowPickle: { type: 'boolean' } },
    },
    pools: { type: 'array', minItems: 1, maxItems: 256, items: pool },
  },
} as const;
