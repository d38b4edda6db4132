import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listeningSockets } from '../support/processes.ts';

/** The e2e check of listening addresses is only as good as this parser: it must see a wildcard bind. */
describe('listening socket check', () => {
  it('sees this process listen on 127.0.0.1 and on every interface', async () => {
    const listen = (host: string) =>
      new Promise<ReturnType<typeof createServer>>((resolve) => {
        const server = createServer();
        server.listen(0, host, () => resolve(server));
      });
    const loopback = await listen('127.0.0.1');
    const everywhere = await listen('::');
    try {
      const port = (s: ReturnType<typeof createServer>) => (s.address() as { port: number }).port;
      const sockets = listeningSockets([process.pid]);
      expect(sockets).toContainEqual({ pid: process.pid, address: '127.0.0.1', port: port(loopback) });
      expect(sockets.find((s) => s.port === port(everywhere))?.address).toBe('0:0:0:0:0:0:0:0');
    } finally {
      loopback.close();
      everywhere.close();
    }
  });
});
