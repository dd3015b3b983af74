// Sends one request through a pool's upstream pipeline and relays the answer to the client.
import type { ServerResponse } from 'node:http';
import type { EndpointRuntime } from '../engines/endpoint.ts';
import type { SchedulingRequest } from '../scheduler/types.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { ModelPool } from './model-pool.ts';
import type { PickEstimate } from './pending-prefill.ts';
import { ClientRelay, type RelayResult } from './relay.ts';

export interface ForwardArgs {
  pool: ModelPool;
  scheduling: SchedulingRequest;
  /** Best first; the rest are failover targets. */
  targets: EndpointRuntime[];
  path: string;
  body: Buffer | string;
  res: ServerResponse;
  requestId: string;
  startedAt: number;
  metrics: GatewayMetrics;
  /** The scheduler's estimates for its pick (pending-prefill accounting, the TTFT prediction check). */
  cached?: PickEstimate | undefined;
  /** The decode leg of a disaggregated request: the prompt's KV is transferred, not prefilled. */
  kvTransferred?: boolean;
}

/** What the relay reports, with the endpoint the request ended on and its attempts. */
export type ForwardResult = RelayResult;

export function forward(a: ForwardArgs): Promise<ForwardResult> {
  const relay = new ClientRelay({ res: a.res, requestId: a.requestId, model: a.scheduling.model, startedAt: a.startedAt, metrics: a.metrics });
  a.pool.send(
    {
      endpoint: a.targets[0]!,
      fallbacks: a.targets.slice(1),
      scheduling: a.scheduling,
      cached: a.cached,
      kvTransferred: a.kvTransferred === true,
      trace: relay.result,
      path: a.path,
      method: 'POST',
      // A flat list: undici walks it without the checks it makes on a headers object.
      headers: ['content-type', 'application/json', 'x-request-id', a.requestId],
      body: a.body,
    },
    relay,
  );
  return relay.done;
}
