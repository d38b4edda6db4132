import { buildApp } from 'fauxqs';
import { EXPIRED_REQUEST_XML, presignedRequestExpired } from './presigned-expiry.ts';

export interface LocalSqsServer {
  /** `http://127.0.0.1:<port>`: the endpoint every SQS client is given. */
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * fauxqs (SQS and S3 in this process) listening on 127.0.0.1 only. fauxqs 1.9.2's `startFauxqs`
 * listens on 0.0.0.0 whatever `host` it is given, so this builds its Fastify app with the exported
 * `buildApp` and binds it here. `host` also names the host in queue URLs, as `startFauxqs` does.
 */
export async function startLocalSqs(options: { port?: number } = {}): Promise<LocalSqsServer> {
  const app = buildApp({ logger: false, host: '127.0.0.1' });
  // fauxqs accepts presigned S3 URLs forever; S3 refuses them once X-Amz-Expires has passed.
  app.addHook('onRequest', async (request, reply) => {
    const query = new URL(request.url, 'http://local').searchParams;
    if (presignedRequestExpired(query, new Date())) {
      await reply.code(403).header('content-type', 'application/xml').send(EXPIRED_REQUEST_XML);
    }
  });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('fauxqs did not report its address');
  return {
    address: `http://127.0.0.1:${address.port}`,
    port: address.port,
    stop: () => app.close(),
  };
}
