import type { PipelinePlugin } from '../context.js';

/**
 * A subscription's SSE response must reach the client as it is written: nginx and proxies like it
 * buffer responses unless told not to (`X-Accel-Buffering: no`). Yoga sets
 * `Cache-Control: no-cache` and sends a heartbeat comment every 12 s itself.
 */
export function useEventStreamHeaders(): PipelinePlugin {
  return {
    onResponse({ response }) {
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        response.headers.set('x-accel-buffering', 'no');
      }
    },
  };
}
