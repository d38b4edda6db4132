import { createJobFilesParts } from '../../core/app/job-files-dependencies.ts';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createApiDependencies } from '../../core/app/api-dependencies.ts';
import { createGroupParts } from '../../core/app/group-dependencies.ts';
import { dispatchDependencies } from '../../core/app/dispatch-dependencies.ts';
import { createMaintenanceDependencies } from '../../core/app/maintenance-dependencies.ts';
import { createWorkerDependencies } from '../../core/app/worker-dependencies.ts';
import { DynamoDbAuditLog } from '../../core/audit/dynamodb-audit-log.ts';
import { createDocumentClient } from '../../core/aws/dynamodb-client.ts';
import { loadRuntimeConfig, runtimeConfigToEnv, type RuntimeConfig } from '../../core/config.ts';
import { newArrayState } from '../../core/jobs/array-progress.ts';
import { DynamoDbWorkerRegistry } from '../../core/workers/dynamodb-registry.ts';
import { handler as scheduleJobs } from '../../lambdas/schedule-jobs.ts';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { createWorkerScaler } from '../../core/app/scaler-dependencies.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import { handleDeadLetter, sweep } from '../../core/maintenance/maintenance.ts';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import { Worker } from '../../core/worker/worker.ts';
import { createHandlers } from '../../lambdas/handlers.ts';
import { ROUTES, type RouteName } from '../../lambdas/routes.ts';
import { createBootstrapHandler } from '../../lambdas/bootstrap-admin-key.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { makeJob } from '../support/jobs.ts';
import { FakeSecretsManager } from './support/fake-secrets-manager.ts';
import { roleStatements, synthesize, type Statement, type SynthesizedStack } from './support/template.ts';

/**
 * DynamoDB Local does not enforce IAM, so a grant the code outgrew would only show as AccessDenied
 * in AWS. This test runs the real code paths of every function (API routes through the real
 * handlers, the worker, the sweeper and reaper, the dead-letter consumer, the audit checkpoint, the
 * auth bootstrap) against DynamoDB Local through a recording proxy, and checks each DynamoDB call
 * against the synthesized role of the function that made it, the way IAM would: the action, the
 * table or index ARN, and the `dynamodb:LeadingKeys` condition. It also checks the other way: every
 * DynamoDB action a role holds is used by its code paths, so no grant outlives its call.
 */

/** One authorization request: what IAM evaluates for one call (one per item of a transaction). */
interface Call {
  readonly who: string;
  readonly action: string;
  readonly table: string;
  readonly index?: string;
  /** Partition keys of the items touched (LeadingKeys); empty for a Query. */
  readonly keys: readonly string[];
  /** Of an update: every top-level attribute it names (dynamodb:Attributes), read or written, its key included. */
  readonly attributes?: readonly string[];
  /** Of an update: its ReturnValues, when it asks for any (dynamodb:ReturnValues). */
  readonly returnValues?: string;
}

const EXPRESSION_WORDS = new Set(['SET', 'REMOVE', 'ADD', 'DELETE', 'AND', 'OR', 'NOT', 'IN', 'BETWEEN']);
const EXPRESSION_FUNCTIONS = new Set(['attribute_exists', 'attribute_not_exists', 'attribute_type', 'begins_with', 'contains', 'size', 'if_not_exists', 'list_append']);

/**
 * The top-level attribute names an update's expressions mention (`#name` resolved; nested paths
 * by their first part), with its key's: what `dynamodb:Attributes` may hold for it, counting what
 * a condition or a value only reads as well (the conservative reading; specs/11-scheduling.md).
 */
function updateAttributes(op: { Key?: Wire; UpdateExpression?: string; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string> }): string[] {
  const names = new Set(Object.keys(op.Key ?? {}));
  for (const expression of [op.UpdateExpression, op.ConditionExpression]) {
    for (const match of (expression ?? '').matchAll(/([.:]?)(#?[A-Za-z_][A-Za-z0-9_]*)/g)) {
      const [, before, token] = match as unknown as [string, string, string];
      // `:value` is a value; `.part` and `[n]` are inside a path whose first part counts.
      if (before === ':' || before === '.' || EXPRESSION_WORDS.has(token) || EXPRESSION_FUNCTIONS.has(token)) continue;
      names.add(token.startsWith('#') ? (op.ExpressionAttributeNames?.[token] ?? token) : token);
    }
  }
  return [...names];
}

type Wire = Record<string, Record<string, unknown>>;
const pkOf = (item: Wire | undefined): string[] => (item?.pk && typeof item.pk.S === 'string' ? [item.pk.S] : []);

/** The calls IAM authorizes for one DynamoDB request (wire format). */
function authorizationRequests(who: string, operation: string, body: Record<string, unknown>): Call[] {
  const single = (action: string, table: string, keys: string[], index?: string): Call => ({
    who,
    action: `dynamodb:${action}`,
    table,
    keys,
    ...(index ? { index } : {}),
  });
  switch (operation) {
    case 'UpdateItem':
      return [
        {
          ...single(operation, body.TableName as string, pkOf(body.Key as Wire)),
          attributes: updateAttributes(body),
          ...(typeof body.ReturnValues === 'string' ? { returnValues: body.ReturnValues } : {}),
        },
      ];
    case 'GetItem':
    case 'DeleteItem':
      return [single(operation, body.TableName as string, pkOf(body.Key as Wire))];
    case 'PutItem':
      return [single(operation, body.TableName as string, pkOf(body.Item as Wire))];
    case 'Query':
    case 'Scan':
      return [single(operation, body.TableName as string, [], body.IndexName as string | undefined)];
    case 'BatchGetItem':
      return Object.entries(body.RequestItems as Record<string, { Keys: Wire[] }>).map(([table, r]) =>
        single('BatchGetItem', table, r.Keys.flatMap(pkOf)),
      );
    case 'BatchWriteItem':
      return Object.entries(body.RequestItems as Record<string, { PutRequest?: { Item: Wire }; DeleteRequest?: { Key: Wire } }[]>).map(
        ([table, requests]) => single('BatchWriteItem', table, requests.flatMap((r) => pkOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key))),
      );
    case 'TransactWriteItems':
      // Authorized action by action, as the underlying item operations.
      return (body.TransactItems as Record<string, { TableName: string; Key?: Wire; Item?: Wire }>[]).map((t) => {
        const [kind, op] = Object.entries(t)[0]!;
        const action = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' }[kind]!;
        return { ...single(action, op.TableName, pkOf(op.Key ?? op.Item)), ...(kind === 'Update' ? { attributes: updateAttributes(op) } : {}) };
      });
    default:
      return [single(operation, String(body.TableName), [])];
  }
}

/** A proxy in front of DynamoDB Local that records every request under the current label. */
class RecordingProxy {
  readonly calls: Call[] = [];
  who: string | undefined;
  private server!: Server;
  url!: string;

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    const upstream = new URL(this.target);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
        if (this.who !== undefined) this.calls.push(...authorizationRequests(this.who, operation, JSON.parse(body.toString('utf8')) as Record<string, unknown>));
        const forward = httpRequest(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
          (up) => {
            res.writeHead(up.statusCode ?? 500, up.headers);
            up.pipe(res);
          },
        );
        forward.on('error', (err) => res.destroy(err));
        forward.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Runs `fn` with the calls it makes recorded as `who`'s. */
  async as<T>(who: string, fn: () => Promise<T>): Promise<T> {
    this.who = who;
    try {
      return await fn();
    } finally {
      this.who = undefined;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** StringLike with `*` only, as the grants use it. */
const like = (pattern: string, value: string) =>
  new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);

describe('IAM grants against the calls the code makes', () => {
  let s: SynthesizedStack;
  let env: TestEnvironment;
  let proxy: RecordingProxy;
  let config: RuntimeConfig;
  let server: LocalApiServer;
  let sm: FakeSecretsManager;
  let adminKey: string;
  /** Physical table name → the ARN text the template's statements use. */
  let tableArns: Map<string, string>;
  let kickQueueUrl: string;

  const roles = (): Record<string, string> => ({
    ...Object.fromEntries(ROUTES.map((r) => [r.name, s.id(s.stack.api.functions.get(r.name)!.role)])),
    worker: s.id(s.stack.workers!.pools.find((p) => p.pool.name === 'default')!.taskRole),
    reaper: s.id(s.stack.reliability.reaper!.role),
    deadLetterConsumer: s.id(s.stack.reliability.deadLetterConsumer!.role),
    auditCheckpoint: s.id(s.stack.reliability.auditCheckpoint!.role),
    bootstrap: s.id(s.stack.auth.bootstrapFunction.role),
    scheduler: s.id(s.stack.scheduler.handler.role),
    scaler: s.id(s.stack.scaler!.handler.role),
  });
  const resourceOf = (call: Call) => {
    const arn = tableArns.get(call.table);
    if (!arn) throw new Error(`a call on ${call.table}, which is not one of the stack's tables`);
    return call.index ? `${arn}/index/${call.index}` : arn;
  };
  const allows = (statement: Statement, call: Call) => {
    if (!statement.actions.includes(call.action) || !statement.resources.includes(resourceOf(call))) return false;
    const patterns = (statement.conditions?.['ForAllValues:StringLike'] as { 'dynamodb:LeadingKeys'?: string[] } | undefined)?.['dynamodb:LeadingKeys'];
    if (patterns && !call.keys.every((k) => patterns.some((p) => like(p, k)))) return false;
    // Fine-grained access: every attribute the call names must be listed (a condition on an action
    // that names none, such as a Query, is not evaluated here: the grants put it on updates only).
    const attributes = (statement.conditions?.['ForAllValues:StringEquals'] as { 'dynamodb:Attributes'?: string[] } | undefined)?.['dynamodb:Attributes'];
    if (attributes && !(call.attributes ?? []).every((a) => attributes.includes(a))) return false;
    const returnValues = (statement.conditions?.StringEqualsIfExists as { 'dynamodb:ReturnValues'?: string[] } | undefined)?.['dynamodb:ReturnValues'];
    return !returnValues || call.returnValues === undefined || returnValues.includes(call.returnValues);
  };

  beforeAll(async () => {
    s = synthesize({ deployNonce: 'iam-coverage' });
    env = await createTestEnvironment();
    proxy = new RecordingProxy(env.dynamoEndpoint);
    await proxy.start();
    tableArns = new Map([
      [tableName(env.prefix, JOBS_TABLE), `\${${s.id(s.stack.data.jobs)}.Arn}`],
      [tableName(env.prefix, EVENTS_TABLE), `\${${s.id(s.stack.data.events)}.Arn}`],
      [tableName(env.prefix, AUDIT_TABLE), `\${${s.id(s.stack.data.audit)}.Arn}`],
    ]);
    config = loadRuntimeConfig({
      RUNPLANE_JOBS_TABLE: tableName(env.prefix, JOBS_TABLE),
      RUNPLANE_EVENTS_TABLE: tableName(env.prefix, EVENTS_TABLE),
      RUNPLANE_AUDIT_TABLE: tableName(env.prefix, AUDIT_TABLE),
      RUNPLANE_QUEUES: JSON.stringify(env.queues.map((q) => ({ pool: q.pool, url: q.url, deadLetterUrl: q.deadLetterUrl }))),
      RUNPLANE_DYNAMODB_ENDPOINT: proxy.url,
      RUNPLANE_SQS_ENDPOINT: env.sqsEndpoint,
      RUNPLANE_S3_ENDPOINT: env.s3Endpoint,
      RUNPLANE_ARTIFACTS_BUCKET: env.bucket,
      // As deployed: runnable jobs and freed capacity kick the scheduler, which admits them.
      RUNPLANE_SCHEDULER_QUEUE_URL: (kickQueueUrl = (await env.sqs.send(new CreateQueueCommand({ QueueName: `${env.prefix}-kicks` }))).QueueUrl!),
    });
    // The scheduler Lambda's handler reads its configuration from the environment.
    for (const [name, value] of Object.entries(runtimeConfigToEnv(config))) vi.stubEnv(name, value);

    // The deploy: the bootstrap makes the admin key the requests below use.
    sm = new FakeSecretsManager();
    sm.createEmpty('admin');
    sm.createEmpty('signing');
    const bootstrap = createBootstrapHandler(() => ({
      secrets: new SecretsManagerClient({ region: 'us-east-1' }),
      documentClient: createDocumentClient({ endpoint: proxy.url }),
      log: () => undefined,
    }));
    await proxy.as('bootstrap', () =>
      bootstrap({
        RequestType: 'Create',
        ResourceProperties: {
          ServiceToken: 'token',
          JobsTable: config.tables.jobs,
          AuditTable: config.tables.audit,
          AdminKeySecretId: 'admin',
          SigningKeySecretId: 'signing',
          JwtIssuer: 'runplane',
          JwtAudience: 'runplane-api',
        },
      } as unknown as CloudFormationCustomResourceEvent),
    );
    adminKey = sm.current('admin')!;

    // Every request builds its dependencies afresh, as a cold Lambda container does: no cached
    // audit head or key hides a call.
    server = await startLocalApiServer({
      routes: ROUTES,
      handlers: createHandlers(async () =>
        createApiDependencies(config, { ...dispatchDependencies(config), jobFiles: createJobFilesParts, log: () => undefined }),
      ),
      log: () => undefined,
    });
  }, 120_000);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await env?.sqs.send(new DeleteQueueCommand({ QueueUrl: kickQueueUrl })).catch(() => undefined);
    sm?.restore();
    await server?.close();
    await proxy?.close();
    await env?.cleanup();
  });

  const call = async (who: RouteName, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    proxy.as(who, async () => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        redirect: 'manual',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBeLessThan(500);
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    });

  it('runs every function’s code paths within its role, and uses every DynamoDB action the role holds', async () => {
    // API routes, each path that reaches DynamoDB differently.
    await call('healthz', 'GET', '/healthz');
    await call('getOpenApi', 'GET', '/v1/openapi.json');
    await call('notFound', 'GET', '/nowhere');
    const job = { command: ['sh', '-c', 'echo result > result.txt'], artifacts: ['result.txt'] };
    const submitted = await call('submitJob', 'POST', '/v1/jobs', job, { 'idempotency-key': 'submit-1' });
    const jobId = (submitted.body.job as { id: string } | undefined)?.id ?? (submitted.body.id as string);
    expect(jobId, JSON.stringify(submitted.body)).toBeTypeOf('string');
    // A replay reads the guard and the original job.
    await call('submitJob', 'POST', '/v1/jobs', job, { 'idempotency-key': 'submit-1' });
    // Uploads touch DynamoDB only for the key check; the archive itself is S3's.
    await call('createUpload', 'POST', '/v1/uploads', { sha256: 'a'.repeat(64), size: 10, files: 1 });
    await call('completeUpload', 'POST', '/v1/uploads/complete', { sha256: 'a'.repeat(64), uploadId: 'none', parts: [{ partNumber: 1, etag: 'x' }] });
    await call('listJobs', 'GET', '/v1/jobs');
    await call('getJob', 'GET', `/v1/jobs/${jobId}`);
    await call('listJobEvents', 'GET', `/v1/jobs/${jobId}/events`);
    await call('getJobLogs', 'GET', `/v1/jobs/${jobId}/logs`);
    // A first read of another live job's logs sets its follow mark (the first job's is still fresh).
    const second = await call('submitJob', 'POST', '/v1/jobs', { command: ['true'] });
    const secondId = (second.body.job as { id: string } | undefined)?.id ?? (second.body.id as string);
    expect((await call('updateJob', 'PATCH', `/v1/jobs/${secondId}`, { priority: 5 })).status).toBe(200);
    await call('getJobLogs', 'GET', `/v1/jobs/${secondId}/logs`);
    await call('getUsage', 'GET', '/v1/usage?by=group');
    await call('listWorkers', 'GET', '/v1/workers');
    expect((await call('updateGroup', 'PUT', '/v1/groups/default', { maxGpus: 8, maxRunningJobs: 20, weight: 2 })).status).toBe(200);
    await call('listGroups', 'GET', '/v1/groups');
    await call('getGroup', 'GET', '/v1/groups/default');
    expect((await call('cancelJob', 'POST', `/v1/jobs/${jobId}/cancel`)).status).toBe(200);
    expect((await call('retryJob', 'POST', `/v1/jobs/${jobId}/retry`, undefined, { 'idempotency-key': 'retry-1' })).status).toBeLessThan(300);
    const created = await call('createApiKey', 'POST', '/v1/api-keys', { name: 'ci', role: 'member', groups: ['default'] });
    expect(created.status).toBe(201);
    await call('listApiKeys', 'GET', '/v1/api-keys');
    await call('revokeApiKey', 'POST', `/v1/api-keys/${created.body.id as string}/revoke`);
    await call('revokeApiKey', 'POST', `/v1/api-keys/${created.body.id as string}/revoke`);
    await call('listAudit', 'GET', '/v1/audit');
    await call('verifyAudit', 'GET', '/v1/audit/verify');
    // Arrays: a throttled one (its worker materialises the rest, one child fails), a cancelled one.
    const array = await call('submitJob', 'POST', '/v1/jobs', { command: ['sh', '-c', 'test "$RUNPLANE_ARRAY_INDEX" != 3'], array: { size: 4, parallelism: 1 } });
    const arrayId = array.body.id as string;
    const cancelledArray = await call('submitJob', 'POST', '/v1/jobs', { command: ['true'], array: { size: 3 } });
    expect((await call('cancelJob', 'POST', `/v1/jobs/${cancelledArray.body.id as string}/cancel`)).body.state).toBe('CANCELLED');

    // The scheduler, as its event source invokes it with the kicks the routes sent: a pass (or two)
    // admits the queued jobs onto the capacity the registry shows (a worker's record, written by
    // the test), and posts its waiting board; the next one reads the admitted jobs back.
    const direct = createDocumentClient({ endpoint: env.dynamoEndpoint });
    const registry = new DynamoDbWorkerRegistry({ client: direct, tableName: config.tables.jobs });
    const now = new Date().toISOString();
    await registry.report({ workerId: 'capacity', pool: 'default', hostname: 'h', pid: 1, concurrency: 4, gpus: [], runningJobs: [], startedAt: now, lastSeenAt: now, draining: false });
    const kicks = await env.sqs.send(new ReceiveMessageCommand({ QueueUrl: kickQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(kicks.Messages?.length ?? 0).toBeGreaterThan(0);
    const kickEvent: SQSEvent = { Records: (kicks.Messages ?? []).map((m) => ({ messageId: m.MessageId!, body: m.Body!, attributes: {} }) as unknown as SQSRecord) };
    await proxy.as('scheduler', async () => {
      expect((await scheduleJobs(kickEvent)).batchItemFailures).toEqual([]);
      expect((await scheduleJobs({ source: 'aws.events' })).batchItemFailures).toEqual([]);
    });
    expect((await createWorkerDependencies(config).store.getJob(jobId))?.admittedAt).not.toBeNull();
    await registry.remove('capacity');

    // The worker: claim, heartbeat, output, finish, its registry item; the retried job runs.
    const workerDeps = createWorkerDependencies(config);
    // Read past the proxy: the test's own look is no one's call.
    const unrecorded = new DynamoDbJobStore({ client: direct, tableName: config.tables.jobs, audit: { tableName: config.tables.audit } });
    const poolHolds = async () =>
      (await unrecorded.listAdmittedJobs('default', 100)).items.length + (await unrecorded.listRunningJobs('default', 100)).items.length;
    /** Runs a worker (its calls recorded as the worker's) until the pool holds nothing admitted or running. */
    const runWorker = () =>
      proxy.as('worker', async () => {
        // It polls the pool's queue, where the passes send the jobs (the capacity record has no
        // inbox); a kick-less worker makes the same DynamoDB calls, and kicks are SQS messages.
        const worker = new Worker({ ...workerDeps, scheduler: undefined, pool: 'default', concurrency: 1, leaseSeconds: 10, heartbeatSeconds: 0.2, pollWaitSeconds: 1, flushIntervalMs: 20, reportIntervalSeconds: 1, log: () => undefined });
        worker.start();
        try {
          for (const deadline = Date.now() + 60_000; (await poolHolds()) > 0; ) {
            if (Date.now() > deadline) throw new Error('the worker did not run what the pass admitted');
            await new Promise((r) => setTimeout(r, 100));
          }
        } finally {
          await worker.stop({ drainSeconds: 0 });
        }
      });
    await runWorker();
    expect((await unrecorded.getJob(jobId))?.state).toBe('SUCCEEDED');
    // The throttled array's children are admitted one pass at a time (as the kicks the worker sends
    // on each end would trigger them in AWS): a pass as the scheduler, then the worker runs the child.
    for (let round = 0; round < 12 && (await unrecorded.getJob(arrayId))?.state !== 'FAILED'; round++) {
      const seen = new Date().toISOString();
      await registry.report({ workerId: 'capacity', pool: 'default', hostname: 'h', pid: 1, concurrency: 1, gpus: [], runningJobs: [], startedAt: seen, lastSeenAt: seen, draining: false });
      await proxy.as('scheduler', async () => expect((await scheduleJobs({ source: 'aws.events' })).batchItemFailures).toEqual([]));
      await registry.remove('capacity');
      await runWorker();
    }
    expect((await unrecorded.getJob(arrayId))?.state).toBe('FAILED');
    expect((await call('listJobChildren', 'GET', `/v1/jobs/${arrayId}/children`)).body.jobs).toHaveLength(4);
    expect((await call('retryJob', 'POST', `/v1/jobs/${arrayId}/retry`)).status).toBe(200);
    // A job that depends on it: edges, the re-check that fails it at once (afternotok on a success),
    // and that failure's own dependents looked up.
    const dependent = await call('submitJob', 'POST', '/v1/jobs', { command: ['true'], dependsOn: [{ job: jobId, type: 'afternotok' }] });
    expect(dependent.body).toMatchObject({ state: 'FAILED', reasonCode: 'DEPENDENCY_NEVER_SATISFIED' });
    // Its artifact, listed (the GSI) and fetched by key.
    expect((await call('listArtifacts', 'GET', `/v1/jobs/${jobId}/artifacts`)).body.artifacts).toHaveLength(1);
    expect((await call('getArtifact', 'GET', `/v1/jobs/${jobId}/artifacts/result.txt`)).status).toBe(302);

    // Maintenance: a job whose send was lost, and an attempt whose lease expired long ago.
    // The test's own writes go straight to DynamoDB Local (no role); claims take group quota, so
    // the reaper's and the dead-letter consumer's recoveries give it back.
    const store = new DynamoDbJobStore({ client: direct, tableName: config.tables.jobs, audit: { tableName: config.tables.audit }, counters: [createGroupParts(config, direct).quotas] });
    const lost = makeJob({ queue: 'default' });
    await store.createJob(lost);
    // Admitted long ago, never claimed: the admission sweeper repairs it.
    await store.admitJob(lost, new Date('2026-01-01T00:00:00Z'));
    const orphan = makeJob({ queue: 'default' });
    await store.createJob(orphan);
    await store.claimAttempt({ jobId: orphan.id, group: orphan.group, workerId: 'gone', leaseId: 'lease', leaseExpiresAt: Date.parse('2026-01-01T00:01:00Z'), expectedAttempt: 0, now: new Date('2026-01-01T00:00:00Z') });
    // An array whose submit materialised nothing (it died first): the sweep does.
    const unmaterialised = makeJob({ queue: 'default', array: newArrayState({ size: 2, parallelism: null, indices: null }) });
    await store.createJob(unmaterialised);
    const report = await proxy.as('reaper', () => sweep({ ...createMaintenanceDependencies(config), log: () => undefined }, ['default']));
    expect(report.arrays.map((a) => a.parentId)).toContain(unmaterialised.id);
    expect(report.redispatched).toContain(lost.id);
    expect(report.recovered.map((r) => r.jobId)).toContain(orphan.id);

    // A dead letter whose job is still queued.
    const dead = makeJob({ queue: 'default' });
    await store.createJob(dead);
    // Its worker was lost: the dead letter fails it and gives back what its claim took.
    await store.claimAttempt({ jobId: dead.id, group: dead.group, workerId: 'gone', leaseId: 'lease-dead', leaseExpiresAt: Date.parse('2026-01-01T00:01:00Z'), expectedAttempt: 0, now: new Date('2026-01-01T00:00:00Z') });
    await expect(proxy.as('deadLetterConsumer', () => handleDeadLetter({ store: createWorkerDependencies(config).store }, { jobId: dead.id, receiveCount: 5 }))).resolves.toBe('failed');

    // The scaler: the pool's pending jobs counted (ECS itself is not emulated here), its decision posted.
    const ecs = new ECSClient({ region: 'us-east-1' });
    mockClient(ecs)
      .on(DescribeServicesCommand)
      .resolves({ services: [{ serviceName: 'default', status: 'ACTIVE', desiredCount: 0, runningCount: 0 }] })
      .on(UpdateServiceCommand)
      .resolves({});
    const scaler = createWorkerScaler(
      {
        region: 'us-east-1',
        sqsEndpoint: env.sqsEndpoint,
        jobsTable: config.tables.jobs,
        dynamodbEndpoint: proxy.url,
        targets: [{ pool: 'default', cluster: 'c', service: 'default', queueUrl: env.queues[0]!.url, minTasks: 0, maxTasks: 2, maxJobsPerTask: 1, gpusPerTask: 0 }],
      },
      { ecs },
    );
    await proxy.as('scaler', () => scaler.scalePool('default'));

    // The checkpoint of every shard head.
    const checkpoint = await proxy.as('auditCheckpoint', () =>
      new DynamoDbAuditLog({ client: createDocumentClient({ endpoint: proxy.url }), tableName: config.tables.audit }).checkpoint(),
    );
    expect(checkpoint).not.toBeNull();

    // Every call was allowed by its function's role...
    const roleIds = roles();
    const denied = proxy.calls.filter((c) => !roleStatements(s.template, roleIds[c.who]!).some((st) => allows(st, c)));
    expect(denied).toEqual([]);
    // ...and every DynamoDB action a role holds was needed by one of its calls.
    const unused = Object.entries(roleIds).flatMap(([who, roleId]) =>
      roleStatements(s.template, roleId)
        .filter((st) => st.actions.some((a) => a.startsWith('dynamodb:')))
        .flatMap((st) =>
          st.actions
            .filter((action) => !proxy.calls.some((c) => c.who === who && allows({ ...st, actions: [action] }, c)))
            .map((action) => `${who}: ${action} on ${st.resources.join(', ')}`),
        ),
    );
    expect(unused).toEqual([]);
  }, 120_000);
});
