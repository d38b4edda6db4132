import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import {
  DependencyError,
  JobNotFoundError,
  JobNotInStateError,
  LeaseLostError,
  NotCancellableError,
  UnknownQueueError,
  ValidationError,
} from '../../core/errors.ts';
import { dependencyFailure } from '../../core/aws/errors.ts';
import { HttpError, mapError } from '../../core/http/api-error.ts';
import { createApiHandler, json } from '../../core/http/api-handler.ts';
import { parseJsonBody, nestingDepth } from '../../core/http/json-body.ts';

describe('error mapping', () => {
  const cases: [string, unknown, number, string][] = [
    ['validation', new ValidationError('bad', [{ path: 'command', message: 'required' }]), 400, 'INVALID_ARGUMENT'],
    ['unknown queue', new UnknownQueueError('nope', ['default']), 400, 'INVALID_ARGUMENT'],
    ['not found', new JobNotFoundError('x'), 404, 'NOT_FOUND'],
    ['not cancellable', new NotCancellableError('x', 'SUCCEEDED'), 409, 'NOT_CANCELLABLE'],
    ['wrong state', new JobNotInStateError('x', ['QUEUED'], 'RUNNING'), 409, 'JOB_NOT_IN_STATE'],
    ['lease lost', new LeaseLostError('x', 'l', {}), 409, 'LEASE_LOST'],
    ['dependency', new DependencyError('job store', new Error('throttled')), 503, 'DEPENDENCY_UNAVAILABLE'],
    ['http 413', new HttpError(413, 'PAYLOAD_TOO_LARGE', 'too big'), 413, 'PAYLOAD_TOO_LARGE'],
    ['http 415', new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'json only'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a bug', new TypeError('x is undefined'), 500, 'INTERNAL'],
    ['a thrown string', 'boom', 500, 'INTERNAL'],
  ];

  it.each(cases)('%s → %i %s', (_name, err, status, code) => {
    const mapped = mapError(err);
    expect(mapped.statusCode).toBe(status);
    expect(mapped.body.error.code).toBe(code);
    expect(typeof mapped.body.error.message).toBe('string');
    expect(mapped.body.error.details).toBeTypeOf('object');
  });

  it('never returns internal detail for 5xx', () => {
    const mapped = mapError(new DependencyError('job store', new Error('arn:aws:dynamodb secret detail')));
    expect(JSON.stringify(mapped.body)).not.toContain('arn:aws');
    expect(JSON.stringify(mapError(new TypeError('secret internals')).body)).not.toContain('secret');
  });

  it('names the offending fields for validation errors', () => {
    const mapped = mapError(new ValidationError('invalid job', [{ path: 'timeoutSeconds', message: 'too small' }]));
    expect(mapped.body.error.details).toEqual({ fields: [{ path: 'timeoutSeconds', message: 'too small' }] });
  });
});

describe('JSON body parsing', () => {
  const json = { 'content-type': 'application/json' };
  const cases: [string, Record<string, string>, string | undefined, boolean, number | 'ok'][] = [
    ['valid', json, '{"a":1}', false, 'ok'],
    ['charset parameter', { 'content-type': 'application/json; charset=utf-8' }, '{}', false, 'ok'],
    ['vendor json', { 'content-type': 'application/vnd.api+json' }, '{}', false, 'ok'],
    ['missing body', json, undefined, false, 400],
    ['text/plain', { 'content-type': 'text/plain' }, '{}', false, 415],
    ['no content type', {}, '{}', false, 415],
    ['malformed', json, '{"a":', false, 400],
    ['too large', json, JSON.stringify({ a: 'x'.repeat(256 * 1024) }), false, 413],
    ['invalid UTF-8', json, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('base64'), true, 400],
    ['too deep', json, '['.repeat(40) + ']'.repeat(40), false, 400],
  ];

  it.each(cases)('%s', (_name, headers, body, base64, expected) => {
    if (expected === 'ok') {
      expect(() => parseJsonBody(headers, body, base64)).not.toThrow();
      return;
    }
    try {
      parseJsonBody(headers, body, base64);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).statusCode).toBe(expected);
    }
  });

  it('ignores brackets inside strings when measuring depth', () => {
    expect(nestingDepth('{"a":"[[[[{{{{","b":[1,[2]]}')).toBe(3);
  });
});

describe('createApiHandler', () => {
  const event = (overrides: Partial<APIGatewayProxyEventV2> = {}) =>
    ({
      version: '2.0',
      routeKey: 'GET /x',
      rawPath: '/x',
      rawQueryString: '',
      headers: {},
      requestContext: { requestId: 'r1', http: { method: 'GET', path: '/x' } },
      isBase64Encoded: false,
      ...overrides,
    }) as APIGatewayProxyEventV2;
  const context = {} as Context;

  it('turns thrown errors into the error shape and logs only internal ones', async () => {
    const logged: string[] = [];
    const handler = createApiHandler(
      { dependencies: async () => ({}), log: (_l, message) => logged.push(message) },
      async ({ event: e }) => {
        if (e.rawPath === '/bug') throw new Error('internal detail');
        throw new JobNotFoundError('j1');
      },
    );
    const notFound = await handler(event(), context);
    expect(notFound.statusCode).toBe(404);
    expect(JSON.parse(notFound.body!)).toEqual({ error: { code: 'NOT_FOUND', message: 'job j1 not found', details: { jobId: 'j1' } } });
    expect(logged).toEqual([]);
    const bug = await handler(event({ rawPath: '/bug' }), context);
    expect(bug.statusCode).toBe(500);
    expect(bug.body).not.toContain('internal detail');
    expect(logged).toEqual(['request failed']);
  });

  it('refuses oversized query strings and headers before routing', async () => {
    let called = 0;
    const handler = createApiHandler({ dependencies: async () => ({}) }, async () => {
      called++;
      return json(200, {});
    });
    expect((await handler(event({ rawQueryString: 'a='.padEnd(5000, 'x') }), context)).statusCode).toBe(414);
    expect((await handler(event({ headers: { big: 'x'.repeat(20_000) } }), context)).statusCode).toBe(431);
    expect(called).toBe(0);
  });
});

describe('dependencyFailure: only service failures become 503', () => {
  const sdkError = Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
  const socketError = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const cases: [string, Error, boolean][] = [
    ['an SDK service error', sdkError, true],
    ['a socket error', socketError, true],
    ['an adapter error about the service answers', new Error('BatchGetItem kept returning unprocessed keys'), true],
    ['a TypeError (a bug)', new TypeError('x is undefined'), false],
    ['a serialization error of the request data', Object.assign(new Error('a lone surrogate'), { name: 'CanonicalJsonError' }), false],
  ];
  it.each(cases)('%s → DependencyError: %s', (_name, err, wrapped) => {
    const out = dependencyFailure('job store', err);
    expect(out instanceof DependencyError).toBe(wrapped);
    expect(mapError(out).statusCode).toBe(wrapped ? 503 : 500);
  });
});

describe('parseJsonBody refuses text no UTF-8 store can hold', () => {
  const headers = { 'content-type': 'application/json' };
  const cases: [string, string, string][] = [
    ['lone high surrogate', JSON.stringify({ command: ['a', '\ud800'] }), 'command.1'],
    ['lone low surrogate in a nested key', JSON.stringify({ labels: { ['k\udc00']: 'v' } }), 'labels.k?'],
    ['replacement character from a lossy decode', '{"name":"a\ufffd"}', 'name'],
    ['at the root', JSON.stringify('\ud800'), '(root)'],
  ];
  it.each(cases)('%s → 400 naming %s', (_name, body, path) => {
    try {
      parseJsonBody(headers, body, false);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).statusCode).toBe(400);
      expect((err as HttpError).details).toEqual({ fields: [expect.objectContaining({ path })] });
    }
  });
  it('keeps surrogate pairs (emoji) and other non-ASCII text', () => {
    expect(parseJsonBody(headers, JSON.stringify({ name: 'ü 😀 \u4e2d' }), false)).toEqual({ name: 'ü 😀 \u4e2d' });
  });
});
