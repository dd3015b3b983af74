// Builders for endpoint views and requests used across scheduler tests.
import type { EndpointView, SchedulingRequest } from '../../src/scheduler/types.ts';

export function endpoint(id: string, over: Partial<EndpointView> = {}): EndpointView {
  return {
    id,
    url: `http://127.0.0.1:1/${id}`,
    model: ['m'],
    engineType: 'twin',
    healthy: true,
    metrics: {},
    inflight: { requests: 0, promptTokens: 0, predictedBlocks: 0 },
    ...over,
  };
}

export function request(id: string, over: Partial<SchedulingRequest> = {}): SchedulingRequest {
  return { id, model: 'm', promptTokens: 100, ...over };
}
