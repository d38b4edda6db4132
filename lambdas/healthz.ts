import { createApiHandler, json } from '../core/http/api-handler.ts';

export function createHealthzHandler() {
  return createApiHandler({ dependencies: async () => ({}) }, async () => json(200, { status: 'ok' }));
}

export const handler = createHealthzHandler();
