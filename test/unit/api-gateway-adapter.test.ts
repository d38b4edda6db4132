import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import {
  MalformedLambdaResponseError,
  fakeLambdaContext,
  formatRequestTime,
  fromApiGatewayResult,
  isTextualContentType,
  matchRoute,
  toApiGatewayEvent,
  type IncomingHttpRequest,
} from '../../local/api-gateway.ts';
import { ROUTES } from '../../lambdas/routes.ts';

const API_ROUTES = ROUTES.map((r) => r.routeKey);
const EXTRA_ROUTES = [
  'GET /files/{path+}',
  'GET /files/special/{rest+}',
  'GET /files/readme',
  'ANY /anything/{id}',
  'DELETE /anything/{id}',
  'GET /',
  'GET /a/{x}/c',
  'GET /a/b/{y}',
];

describe('matchRoute', () => {
  const cases: [
    method: string,
    path: string,
    routeKey: string | undefined,
    params: Record<string, string>,
  ][] = [
    ['GET', '/healthz', 'GET /healthz', {}],
    ['GET', '/v1/jobs', 'GET /v1/jobs', {}],
    ['POST', '/v1/jobs', 'POST /v1/jobs', {}],
    ['GET', '/v1/jobs/01J0ABC', 'GET /v1/jobs/{id}', { id: '01J0ABC' }],
    ['POST', '/v1/jobs/01J0ABC/cancel', 'POST /v1/jobs/{id}/cancel', { id: '01J0ABC' }],
    ['GET', '/v1/jobs/01J0ABC/events', 'GET /v1/jobs/{id}/events', { id: '01J0ABC' }],
    // Method is part of the route: GET on the cancel path is nobody's route.
    ['GET', '/v1/jobs/01J0ABC/cancel', '$default', {}],
    ['DELETE', '/v1/jobs/01J0ABC', '$default', {}],
    // A trailing slash is ignored for matching.
    ['GET', '/v1/jobs/', 'GET /v1/jobs', {}],
    ['GET', '/v1/jobs/01J0ABC/', 'GET /v1/jobs/{id}', { id: '01J0ABC' }],
    // An encoded slash stays inside the one segment it was sent in, and is decoded.
    ['GET', '/v1/jobs/a%2Fb', 'GET /v1/jobs/{id}', { id: 'a/b' }],
    ['GET', '/v1/jobs/with%20space', 'GET /v1/jobs/{id}', { id: 'with space' }],
    ['GET', '/v1/jobs/%E2%9C%93', 'GET /v1/jobs/{id}', { id: '✓' }],
    // A malformed escape is passed through rather than failing the request.
    ['GET', '/v1/jobs/%zz', 'GET /v1/jobs/{id}', { id: '%zz' }],
    // `{id}` needs a non-empty segment.
    ['POST', '/v1/jobs//cancel', '$default', {}],
    ['GET', '/v1/jobs/01J0ABC/events/extra', '$default', {}],
    ['GET', '/nowhere', '$default', {}],
  ];
  it.each(cases)('%s %s → %s', (method, path, routeKey, params) => {
    expect(matchRoute(API_ROUTES, method, path)).toEqual({ routeKey, pathParameters: params });
  });

  const specificity: [
    method: string,
    path: string,
    routeKey: string | undefined,
    params: Record<string, string>,
  ][] = [
    ['GET', '/files/readme', 'GET /files/readme', {}],
    ['GET', '/files/docs/a%2Fb/c.txt', 'GET /files/{path+}', { path: 'docs/a/b/c.txt' }],
    ['GET', '/files/special/x/y', 'GET /files/special/{rest+}', { rest: 'x/y' }],
    ['GET', '/files/special', 'GET /files/{path+}', { path: 'special' }],
    // A greedy variable needs at least one segment.
    ['GET', '/files', undefined, {}],
    ['GET', '/files/', undefined, {}],
    // An explicit method beats ANY on the same path; ANY covers the others.
    ['DELETE', '/anything/7', 'DELETE /anything/{id}', { id: '7' }],
    ['PATCH', '/anything/7', 'ANY /anything/{id}', { id: '7' }],
    ['GET', '/', 'GET /', {}],
    // The leftmost literal wins between two single-variable templates.
    ['GET', '/a/b/c', 'GET /a/b/{y}', { y: 'c' }],
    ['GET', '/a/z/c', 'GET /a/{x}/c', { x: 'z' }],
    ['HEAD', '/files/readme', undefined, {}],
  ];
  it.each(specificity)('without $default: %s %s → %s', (method, path, routeKey, params) => {
    const match = matchRoute(EXTRA_ROUTES, method, path);
    expect(match).toEqual(routeKey === undefined ? undefined : { routeKey, pathParameters: params });
  });

  it('does not depend on the order routes are declared in', () => {
    const reversed = [...EXTRA_ROUTES].reverse();
    expect(matchRoute(reversed, 'GET', '/files/readme')?.routeKey).toBe('GET /files/readme');
    expect(matchRoute(reversed, 'DELETE', '/anything/7')?.routeKey).toBe('DELETE /anything/{id}');
  });

  it('rejects route keys API Gateway would not create', () => {
    expect(() => matchRoute(['GET /a/{rest+}/b'], 'GET', '/a/x/b')).toThrow(/greedy/);
    expect(() => matchRoute(['get /a'], 'GET', '/a')).toThrow(/invalid route key/);
    expect(() => matchRoute(['GET /a//b'], 'GET', '/a/b')).toThrow(/bad segment/);
  });
});

describe('toApiGatewayEvent', () => {
  const now = new Date('2026-03-12T19:03:58.390Z');
  const body = Buffer.from(JSON.stringify({ command: ['python', 'train.py'], queue: 'gpu' }));

  const request: IncomingHttpRequest = {
    method: 'POST',
    url: '/v1/jobs/01J0ABC/cancel?tag=a&tag=b&q=hello+world%21&flag',
    headers: {},
    // prettier-ignore
    rawHeaders: [
      'Host', '127.0.0.1:8787',
      'User-Agent', 'runplane-cli/0.1.0',
      'Content-Type', 'application/json',
      'Content-Length', String(body.length),
      'Cookie', 'session=abc; theme=dark',
      'Cookie', 'extra=1',
      'X-Trace', 'one',
      'x-trace', 'two',
      'Authorization', 'Bearer token',
    ],
    body,
    remoteAddress: '::ffff:127.0.0.1',
    httpVersion: '1.1',
  };

  const expected: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: 'POST /v1/jobs/{id}/cancel',
    rawPath: '/v1/jobs/01J0ABC/cancel',
    rawQueryString: 'tag=a&tag=b&q=hello+world%21&flag',
    cookies: ['session=abc', 'theme=dark', 'extra=1'],
    headers: {
      host: '127.0.0.1:8787',
      'user-agent': 'runplane-cli/0.1.0',
      'content-type': 'application/json',
      'content-length': String(body.length),
      'x-trace': 'one,two',
      authorization: 'Bearer token',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': '8787',
    },
    queryStringParameters: { tag: 'a,b', q: 'hello world!', flag: '' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1:8787',
      domainPrefix: '127',
      http: {
        method: 'POST',
        path: '/v1/jobs/01J0ABC/cancel',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'runplane-cli/0.1.0',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: 'POST /v1/jobs/{id}/cancel',
      stage: '$default',
      time: '12/Mar/2026:19:03:58 +0000',
      timeEpoch: 1773342238390,
    },
    pathParameters: { id: '01J0ABC' },
    body: '{"command":["python","train.py"],"queue":"gpu"}',
    isBase64Encoded: false,
  };

  it('builds the full payload-2.0 event for a POST with query, cookies and a JSON body', () => {
    const match = matchRoute(API_ROUTES, request.method, '/v1/jobs/01J0ABC/cancel')!;
    const event = toApiGatewayEvent(request, match, { requestId: 'JKJaXmPLvHcESHA=', now });
    expect(event).toStrictEqual(expected);
    // The event must survive the JSON trip into Lambda unchanged (no undefined-valued keys).
    expect(JSON.parse(JSON.stringify(event))).toStrictEqual(event);
  });

  it('sends a binary body base64-encoded, and leaves out what the request lacks', () => {
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);
    const event = toApiGatewayEvent(
      {
        method: 'put',
        url: '/upload',
        headers: { host: 'localhost', 'content-type': 'application/octet-stream' },
        body: bytes,
      },
      { routeKey: '$default', pathParameters: {} },
      { requestId: 'r1', now, stage: 'dev' },
    );
    expect(event.body).toBe(bytes.toString('base64'));
    expect(Buffer.from(event.body!, 'base64')).toEqual(bytes);
    expect(event.isBase64Encoded).toBe(true);
    expect(event.requestContext.http.method).toBe('PUT');
    expect(event.requestContext.stage).toBe('dev');
    expect(event.requestContext.domainPrefix).toBe('localhost');
    expect(event.rawQueryString).toBe('');
    for (const absent of ['cookies', 'queryStringParameters', 'pathParameters'] as const) {
      expect(event).not.toHaveProperty(absent);
    }
  });

  it('leaves body out for an empty request, and base64-encodes a body without content type', () => {
    const empty = toApiGatewayEvent(
      { method: 'GET', url: '/healthz', headers: { host: 'h' }, body: Buffer.alloc(0) },
      { routeKey: 'GET /healthz', pathParameters: {} },
      { requestId: 'r', now },
    );
    expect(empty).not.toHaveProperty('body');
    expect(empty.isBase64Encoded).toBe(false);
    const untyped = toApiGatewayEvent(
      { method: 'POST', url: '/x', headers: {}, body: Buffer.from('hi') },
      { routeKey: '$default', pathParameters: {} },
      { requestId: 'r', now },
    );
    expect(untyped).toMatchObject({ body: 'aGk=', isBase64Encoded: true });
  });

  it('falls back to node headers when raw headers are not given, appending to x-forwarded-for', () => {
    const event = toApiGatewayEvent(
      {
        method: 'GET',
        url: '/v1/jobs',
        headers: {
          host: 'api.example.com',
          cookie: 'a=1; b=2',
          'x-forwarded-for': '10.0.0.1',
          accept: 'application/json',
        },
        body: Buffer.alloc(0),
        remoteAddress: '192.168.1.9',
      },
      { routeKey: 'GET /v1/jobs', pathParameters: {} },
      { requestId: 'r', now },
    );
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.headers['x-forwarded-for']).toBe('10.0.0.1, 192.168.1.9');
    expect(event.headers['x-forwarded-port']).toBe('80');
    expect(event.requestContext).toMatchObject({ domainName: 'api.example.com', domainPrefix: 'api' });
    expect(event.requestContext.http.sourceIp).toBe('192.168.1.9');
  });

  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['text/plain', true],
    ['application/vnd.runplane+json', true],
    ['application/x-www-form-urlencoded', true],
    ['application/octet-stream', false],
    ['image/png', false],
    ['application/jsonx', false],
    [undefined, false],
  ])('treats content type %s as text: %s', (contentType, textual) => {
    expect(isTextualContentType(contentType)).toBe(textual);
  });

  it('formats the request time as API Gateway does', () => {
    expect(formatRequestTime(new Date('2020-03-04T09:05:07.000Z'))).toBe('04/Mar/2020:09:05:07 +0000');
  });
});

describe('fromApiGatewayResult', () => {
  it('sends a structured result as given, with cookies apart and base64 bodies decoded', () => {
    const res = fromApiGatewayResult({
      statusCode: 201,
      headers: { 'Content-Type': 'application/json', 'X-Count': 3, 'X-Flag': true },
      cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
      body: '{"ok":true}',
    });
    expect(res).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'application/json', 'x-count': '3', 'x-flag': 'true' },
      cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
      body: Buffer.from('{"ok":true}'),
    });
    const binary = fromApiGatewayResult({
      statusCode: 200,
      body: Buffer.from([1, 2, 255]).toString('base64'),
      isBase64Encoded: true,
    });
    expect(binary.body).toEqual(Buffer.from([1, 2, 255]));
    expect(fromApiGatewayResult({ statusCode: 204 })).toEqual({
      statusCode: 204,
      headers: {},
      cookies: [],
      body: Buffer.alloc(0),
    });
  });

  it('joins 1.0-style multiValueHeaders unless headers already name them', () => {
    const res = fromApiGatewayResult({
      statusCode: 200,
      headers: { 'x-a': 'single' },
      multiValueHeaders: { 'X-A': ['ignored'], 'X-B': ['1', 2] },
      body: '',
    });
    expect(res.headers).toEqual({ 'x-a': 'single', 'x-b': '1, 2' });
  });

  const json = { 'content-type': 'application/json' };
  it.each([
    ['a string, as it is', 'Hello from Lambda!', 'Hello from Lambda!'],
    ['a string that looks like JSON, as it is', '{"statusCode":404}', '{"statusCode":404}'],
    ['a plain object, as JSON', { message: 'Hello from Lambda!' }, '{"message":"Hello from Lambda!"}'],
    ['an array, as JSON', [1, 'two'], '[1,"two"]'],
    ['a number, as JSON', 42, '42'],
    ['undefined, as the null Lambda sends', undefined, 'null'],
    ['null', null, 'null'],
    [
      'a Date inside an object, as Lambda serialises it',
      { at: new Date('2026-01-01T00:00:00Z') },
      '{"at":"2026-01-01T00:00:00.000Z"}',
    ],
  ])('infers a 200 JSON response from %s', (_label, result, body) => {
    expect(fromApiGatewayResult(result)).toEqual({
      statusCode: 200,
      headers: json,
      cookies: [],
      body: Buffer.from(body),
    });
  });

  it.each([
    ['a non-numeric status', { statusCode: '200' }],
    ['an out-of-range status', { statusCode: 42 }],
    ['a non-string body', { statusCode: 200, body: { a: 1 } }],
    ['cookies that are not strings', { statusCode: 200, cookies: [1] }],
    ['a header that is an object', { statusCode: 200, headers: { a: { b: 1 } } }],
    ['a non-boolean isBase64Encoded', { statusCode: 200, isBase64Encoded: 'yes' }],
  ])('refuses a structured result with %s', (_label, result) => {
    expect(() => fromApiGatewayResult(result)).toThrow(MalformedLambdaResponseError);
  });

  it('refuses a response over Lambda’s 6 MB payload limit', () => {
    expect(() => fromApiGatewayResult({ statusCode: 200, body: 'x'.repeat(6 * 1024 * 1024) })).toThrow(
      /exceeds/,
    );
  });
});

describe('fakeLambdaContext', () => {
  it('describes the function and counts down the time left', () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    try {
      const context = fakeLambdaContext('getJob', 'c0ffee00-0000-4000-8000-000000000000', 10_000);
      expect(context).toMatchObject({
        functionName: 'getJob',
        functionVersion: '$LATEST',
        awsRequestId: 'c0ffee00-0000-4000-8000-000000000000',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:getJob',
        logGroupName: '/aws/lambda/getJob',
      });
      expect(context.getRemainingTimeInMillis()).toBe(10_000);
      vi.advanceTimersByTime(4_000);
      expect(context.getRemainingTimeInMillis()).toBe(6_000);
      vi.advanceTimersByTime(60_000);
      expect(context.getRemainingTimeInMillis()).toBe(0);
      expect(() => context.succeed('x')).toThrow(/not supported/);
    } finally {
      vi.useRealTimers();
    }
  });
});
