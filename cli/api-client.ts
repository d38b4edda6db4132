/**
 * A typed client for the Runplane HTTP API (the same surface locally and on AWS). The CLI uses
 * nothing else to reach the platform; it never touches tables or queues.
 *
 * Retry contract: a request that fails before the server could have acted on it, or that the
 * server says it did not act on, is retried with exponential back-off and jitter. What counts
 * depends on the operation:
 * - reads (GET) and submit are safe to repeat: reads have no effect and submit carries one
 *   `Idempotency-Key` for all its tries, so a retried submit returns the job the first try made.
 *   They are retried on network errors, request timeouts, 429 and 5xx.
 * - cancel is not: a retry after a lost response would answer 409 NOT_CANCELLABLE for a cancel
 *   that worked. It is retried only when the connection could not be made or on 429 (throttled
 *   before any handler ran).
 * Any other 4xx is the caller's mistake and is thrown at once as an `ApiError`.
 */
import type * as z from 'zod';
import type { JobState } from '../core/jobs/job.ts';
import type {
  apiKeyPageSchema,
  apiKeySummarySchema,
  auditEntrySchema,
  auditPageSchema,
  auditVerificationSchema,
  createdApiKeySchema,
  eventPageSchema,
  groupViewSchema,
  jobPageSchema,
  jobViewSchema,
  ResponseBody,
  usageReportSchema,
  workerSchema,
} from '../core/api/response-schemas.ts';
import type { submitJobRequestSchema } from '../core/api/route-contracts.ts';
import type { createApiKeySchema } from '../core/auth/api-key-service.ts';
import type { groupSettingsSchema } from '../core/groups/group.ts';

// The request and response types are inferred from the API contract's zod schemas
// (core/api/response-schemas.ts, the source of specs/openapi.json): type-only imports, erased at
// run time, so the CLI still loads no server code and cannot drift from what the server answers.
// Nothing here is Node-only (fetch, AbortSignal and crypto.randomUUID are globals in Node 20 and
// in browsers), so the web console uses this same client.
export type { JobEvent, LifecycleEvent, OutputEvent } from '../core/events/event.ts';
import type { ArtifactView } from '../core/artifact.ts';
import type { CreateUploadResult, completeUploadSchema, createUploadSchema } from '../core/uploads/upload-service.ts';
import type { UploadInstructions } from '../core/uploads/workdir-archive-store.ts';
/** A group as `GET /v1/groups` reports it: quotas, weight, current use, decayed recent GPU-seconds. */
export type GroupInfo = ResponseBody<typeof groupViewSchema>;
/** The body of `PUT /v1/groups/{group}`: omitted fields keep their value, null removes a quota. */
export type GroupSettingsRequest = z.input<typeof groupSettingsSchema>;
/** `GET /v1/usage`: usage and cost by group, user, queue or day. */
export type UsageReportBody = ResponseBody<typeof usageReportSchema>;

export interface UsageQuery {
  readonly group?: string;
  readonly user?: string;
  readonly from?: string;
  readonly to?: string;
  readonly by?: 'group' | 'user' | 'queue' | 'day';
}

/** A worker as `GET /v1/workers` reports it. */
export type WorkerInfo = ResponseBody<typeof workerSchema>;

/** A job as the API returns it; `GET /v1/jobs/{id}` adds why a QUEUED job has not started yet. */
export type ApiJob = ResponseBody<typeof jobViewSchema> & { readonly waitingReason?: string | null };

export type EventPage = ResponseBody<typeof eventPageSchema>;

export type JobPage = ResponseBody<typeof jobPageSchema>;

export interface ListJobsQuery {
  /** One of the caller's groups (any group for an admin); the caller's first by default. */
  readonly group?: string;
  readonly state?: JobState;
  readonly queue?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface ListEventsQuery {
  /** Defaults (server side) to the job's latest attempt. */
  readonly attempt?: number;
  /** The last sequence number already seen; 0 (or absent) reads from the start. */
  readonly after?: number;
  readonly limit?: number;
}

export interface JobLogs {
  /** Exactly the bytes the job wrote (both streams, in order). */
  readonly bytes: Buffer;
  /** The attempt the bytes belong to, as the server reports it. */
  readonly attempt: number | undefined;
  /** The output went past the server's response limit; the rest follows `next` in the events. */
  readonly truncated: boolean;
  /** With `truncated`: the `after` cursor where the text stops. */
  readonly next: number | undefined;
}

/** The body of `POST /v1/jobs`: a job spec, and the group it goes to (the caller's first by default). */
export type SubmitRequest = z.input<typeof submitJobRequestSchema>;

/** The body of `POST /v1/uploads` and its answer (core/uploads/upload-service.ts). */
export type CreateUploadRequest = z.input<typeof createUploadSchema>;
export type CreateUploadResponse = CreateUploadResult;
export type CompleteUploadRequest = z.input<typeof completeUploadSchema>;
export type { UploadInstructions };
export type ArtifactInfo = ArtifactView;

export interface ArtifactPage {
  readonly artifacts: ArtifactInfo[];
  readonly nextCursor: string | null;
}

export interface ArtifactDownload extends ArtifactInfo {
  readonly url: string;
  readonly expiresInSeconds: number;
}

export type ApiKeyRole = 'admin' | 'member' | 'viewer';

export type CreateApiKeyRequest = z.input<typeof createApiKeySchema>;

/** An API key as the API lists it: never the key itself. */
export type ApiKeyInfo = ResponseBody<typeof apiKeySummarySchema>;

/** Creation's answer: the key itself (`rp_<id>_<secret>`), the only time the API returns it. */
export type CreatedApiKey = ResponseBody<typeof createdApiKeySchema>;

export type ApiKeyPage = ResponseBody<typeof apiKeyPageSchema>;

/** One link of the audit chain as `GET /v1/audit` returns it (see specs/04-audit-chain.md). */
export type AuditEntry = ResponseBody<typeof auditEntrySchema>;

export type AuditPage = ResponseBody<typeof auditPageSchema>;

export interface ListAuditQuery {
  readonly after?: string;
  readonly limit?: number;
  /** One shard, or `root` for the checkpoints; every shard when absent. */
  readonly shard?: number | 'root';
}

export type AuditVerifyResult = ResponseBody<typeof auditVerificationSchema>;
export type AuditProblem = NonNullable<AuditVerifyResult['firstBroken']>;

/** An error response from the API, in its `{"error":{"code","message","details"}}` shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The API could not be reached at all (refused, DNS, reset, timed out) after every retry. */
export class ConnectionError extends Error {
  constructor(
    readonly baseUrl: string,
    /** The system error code when there is one (`ECONNREFUSED`, `ENOTFOUND`), else `undefined`. */
    readonly reason: string | undefined,
    options?: ErrorOptions,
  ) {
    super(`cannot reach the Runplane API at ${baseUrl}${reason ? ` (${reason})` : ''}`, options);
    this.name = 'ConnectionError';
  }
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

// Four tries over about 1.4 s: long enough to ride out a Lambda cold start or a throttling burst,
// short enough that "the platform is not running" is reported without a noticeable hang.
export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

// API Gateway gives up on an integration after 30 s; waiting longer only delays the retry.
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The part of a fetch `Response` the client reads; a real `Response` is one. */
export interface HttpResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body?: { cancel(): Promise<void> } | null;
  text(): Promise<string>;
  /** The body's exact bytes (logs are bytes, not always text). */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** How requests are sent: `fetch` by default; the CLI passes a `node:http` one (cli/node-http-transport.ts). */
export type HttpTransport = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal },
) => Promise<HttpResponse>;

export interface RunplaneClientOptions {
  /** For example `http://127.0.0.1:8787` or the API Gateway URL; a trailing slash is ignored. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token?: string | undefined;
  readonly fetch?: HttpTransport;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retry?: Partial<RetryPolicy>;
  readonly requestTimeoutMs?: number;
  /** Jitter source in [0, 1); injectable so tests can assert exact delays. */
  readonly random?: () => number;
}

type RetryClass = 'idempotent' | 'unprocessed-only';

interface RequestOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  readonly path: string;
  readonly query?: Record<string, string | number | undefined>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly retry: RetryClass;
  /** Resolve to the successful `Response` itself instead of its parsed body. */
  readonly raw?: boolean;
  /** `manual`: a 302 is the answer (its body), not something to follow. */
  readonly redirect?: 'manual';
}

// Connection-level failures where the request never reached a server, so any method may be retried.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * @example
 * const client = new RunplaneClient({ baseUrl: 'http://127.0.0.1:8787' });
 * const job = await client.submitJob({ command: ['python', 'train.py'] }, { idempotencyKey: randomUUID() });
 */
export class RunplaneClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: HttpTransport;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly retryPolicy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly random: () => number;

  constructor(options: RunplaneClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token || undefined;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? defaultSleep;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.random = options.random ?? Math.random;
  }

  /** Submits a job. Every retry of this call sends the same key, so at most one job is created. */
  async submitJob(spec: SubmitRequest, options: { idempotencyKey?: string } = {}): Promise<ApiJob> {
    const idempotencyKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    return this.request<ApiJob>({
      method: 'POST',
      path: '/v1/jobs',
      body: spec,
      headers: { 'idempotency-key': idempotencyKey },
      retry: 'idempotent',
    });
  }

  async getJob(id: string): Promise<ApiJob> {
    return this.request<ApiJob>({
      method: 'GET',
      path: `/v1/jobs/${encodeURIComponent(id)}`,
      retry: 'idempotent',
    });
  }

  /** One page, newest first. Pass `nextCursor` back as `cursor` for the next page. */
  async listJobs(query: ListJobsQuery = {}): Promise<JobPage> {
    return this.request<JobPage>({
      method: 'GET',
      path: '/v1/jobs',
      query: { ...query },
      retry: 'idempotent',
    });
  }

  /** One page of an array's materialised children, in index order. */
  async listJobChildren(id: string, query: { state?: string; limit?: number; cursor?: string } = {}): Promise<JobPage> {
    return this.request<JobPage>({
      method: 'GET',
      path: `/v1/jobs/${encodeURIComponent(id)}/children`,
      query: { ...query },
      retry: 'idempotent',
    });
  }

  /** Cancels a queued job at once, or asks a running job's worker to stop it. */
  async cancelJob(id: string): Promise<ApiJob> {
    return this.request<ApiJob>({
      method: 'POST',
      path: `/v1/jobs/${encodeURIComponent(id)}/cancel`,
      retry: 'unprocessed-only',
    });
  }

  /** Runs a finished job again as a new attempt; the key makes a retried request harmless. */
  async retryJob(id: string, options: { idempotencyKey?: string } = {}): Promise<ApiJob> {
    return this.request<ApiJob>({
      method: 'POST',
      path: `/v1/jobs/${encodeURIComponent(id)}/retry`,
      headers: { 'idempotency-key': options.idempotencyKey ?? globalThis.crypto.randomUUID() },
      retry: 'idempotent',
    });
  }

  /** A queued job's new priority (audited); the job as it is after. */
  async updateJob(id: string, patch: { priority: number }): Promise<ApiJob> {
    return this.request<ApiJob>({
      method: 'PATCH',
      path: `/v1/jobs/${encodeURIComponent(id)}`,
      body: patch,
      // Setting the same priority twice is the same change.
      retry: 'idempotent',
    });
  }

  /** Workers that reported in the last minute. */
  async listWorkers(): Promise<{ workers: WorkerInfo[] }> {
    return this.request<{ workers: WorkerInfo[] }>({ method: 'GET', path: '/v1/workers', retry: 'idempotent' });
  }

  /** Usage and cost of attempts that ended in a window (admins: every group, and idle capacity). */
  async getUsage(query: UsageQuery = {}): Promise<UsageReportBody> {
    return this.request<UsageReportBody>({ method: 'GET', path: '/v1/usage', query: { ...query }, retry: 'idempotent' });
  }

  async listEvents(id: string, query: ListEventsQuery = {}): Promise<EventPage> {
    return this.request<EventPage>({
      method: 'GET',
      path: `/v1/jobs/${encodeURIComponent(id)}/events`,
      query: { ...query },
      retry: 'idempotent',
    });
  }

  /**
   * The combined output of one attempt (the latest by default), as plain text. Long output is cut
   * at the server's response limit: then `truncated` is set and the rest is read through
   * `listEvents(id, { attempt, after: next })`.
   */
  async getLogs(id: string, attempt?: number): Promise<JobLogs> {
    const response = await this.request<HttpResponse>({
      method: 'GET',
      path: `/v1/jobs/${encodeURIComponent(id)}/logs`,
      query: { attempt },
      retry: 'idempotent',
      raw: true,
    });
    const header = (name: string) => {
      const value = response.headers.get(name);
      return value === null || value.trim() === '' || !Number.isSafeInteger(Number(value))
        ? undefined
        : Number(value);
    };
    return {
      bytes: Buffer.from(await response.arrayBuffer()),
      attempt: header('x-runplane-attempt') ?? attempt,
      truncated: response.headers.get('x-runplane-truncated') === 'true',
      next: header('x-runplane-next-after'),
    };
  }

  /** One page of the audit chain (admins only): shards merged by time, each in seq order. */
  async listAudit(query: ListAuditQuery = {}): Promise<AuditPage> {
    return this.request<AuditPage>({ method: 'GET', path: '/v1/audit', query: { ...query }, retry: 'idempotent' });
  }

  /** The server recomputes every link of every chain (admins only); `ok: false` names what broke. */
  async verifyAudit(): Promise<AuditVerifyResult> {
    return this.request<AuditVerifyResult>({ method: 'GET', path: '/v1/audit/verify', retry: 'idempotent' });
  }

  /** Creates an API key (admins only). The returned `key` is shown once and never again. */
  async createApiKey(input: CreateApiKeyRequest): Promise<CreatedApiKey> {
    // Not retried on a lost response: a retry would create a second key.
    return this.request<CreatedApiKey>({ method: 'POST', path: '/v1/api-keys', body: input, retry: 'unprocessed-only' });
  }

  /** One page of API keys, newest first, without secrets (admins only). */
  async listApiKeys(query: { limit?: number; cursor?: string } = {}): Promise<ApiKeyPage> {
    return this.request<ApiKeyPage>({ method: 'GET', path: '/v1/api-keys', query: { ...query }, retry: 'idempotent' });
  }

  /** Revokes a key at once; revoking a revoked key returns it unchanged, so retries are safe. */
  async revokeApiKey(id: string): Promise<ApiKeyInfo> {
    return this.request<ApiKeyInfo>({
      method: 'POST',
      path: `/v1/api-keys/${encodeURIComponent(id)}/revoke`,
      retry: 'idempotent',
    });
  }

  /** The groups the caller may see (admins: all), with their quotas and current use. */
  async listGroups(): Promise<{ groups: GroupInfo[] }> {
    return this.request<{ groups: GroupInfo[] }>({ method: 'GET', path: '/v1/groups', retry: 'idempotent' });
  }

  async getGroup(name: string): Promise<{ group: GroupInfo }> {
    return this.request<{ group: GroupInfo }>({ method: 'GET', path: `/v1/groups/${encodeURIComponent(name)}`, retry: 'idempotent' });
  }

  /** Sets a group's quotas and weight (admins). The values are absolute, so a retry sets the same. */
  async updateGroup(name: string, settings: GroupSettingsRequest): Promise<{ group: GroupInfo }> {
    return this.request<{ group: GroupInfo }>({
      method: 'PUT',
      path: `/v1/groups/${encodeURIComponent(name)}`,
      body: settings,
      retry: 'idempotent',
    });
  }

  /** Declares a work directory archive; the answer says whether (and where) to upload it. Idempotent. */
  async createUpload(input: CreateUploadRequest): Promise<CreateUploadResponse> {
    return this.request<CreateUploadResponse>({ method: 'POST', path: '/v1/uploads', body: input, retry: 'idempotent' });
  }

  async completeUpload(input: CompleteUploadRequest): Promise<{ archive: string; exists: true }> {
    return this.request({ method: 'POST', path: '/v1/uploads/complete', body: input, retry: 'idempotent' });
  }

  async listArtifacts(id: string, query: { attempt?: number; limit?: number; cursor?: string } = {}): Promise<ArtifactPage> {
    return this.request<ArtifactPage>({
      method: 'GET',
      path: `/v1/jobs/${encodeURIComponent(id)}/artifacts`,
      query: { attempt: query.attempt, limit: query.limit, cursor: query.cursor },
      retry: 'idempotent',
    });
  }

  /** One artifact's record and a short-lived URL to its bytes (the route's 302, not followed). */
  async artifactDownload(id: string, path: string, attempt?: number): Promise<ArtifactDownload> {
    return this.request<ArtifactDownload>({
      method: 'GET',
      path: `/v1/jobs/${encodeURIComponent(id)}/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`,
      query: { attempt },
      retry: 'idempotent',
      redirect: 'manual',
    });
  }

  /**
   * A GET on a route this client does not wrap yet (the console reads `/v1/groups` and `/v1/usage`
   * where a deployment has them); errors are thrown as for every other call.
   */
  async get<T>(path: `/${string}`, query: Record<string, string | number | undefined> = {}): Promise<T> {
    return this.request<T>({ method: 'GET', path, query, retry: 'idempotent' });
  }

  /** A GET whose successful `Response` is returned as is (a log or a file to download). */
  async getRaw(path: `/${string}`, query: Record<string, string | number | undefined> = {}): Promise<Response> {
    return this.request<Response>({ method: 'GET', path, query, retry: 'idempotent', raw: true });
  }

  async health(): Promise<unknown> {
    return this.request<unknown>({ method: 'GET', path: '/healthz', retry: 'idempotent' });
  }

  private url(path: string, query: RequestOptions['query']): string {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  private async request<T>(options: RequestOptions): Promise<T> {
    const url = this.url(options.path, options.query);
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);

    for (let attempt = 1; ; attempt++) {
      const isLast = attempt >= this.retryPolicy.attempts;
      let response: HttpResponse;
      try {
        response = await this.fetchImpl(url, {
          method: options.method,
          headers,
          body,
          signal: AbortSignal.timeout(this.requestTimeoutMs),
          ...(options.redirect ? { redirect: options.redirect } : {}),
        });
      } catch (error) {
        const reason = networkErrorCode(error);
        const retryable =
          options.retry === 'idempotent' || (reason !== undefined && NOT_SENT_CODES.has(reason));
        if (isLast || !retryable) throw new ConnectionError(this.baseUrl, reason, { cause: error });
        await this.sleep(this.backoff(attempt));
        continue;
      }

      const redirected = options.redirect === 'manual' && response.status === 302;
      if (response.ok || redirected) return (options.raw ? response : await readBody(response)) as T;

      const retryable = response.status === 429 || (options.retry === 'idempotent' && response.status >= 500);
      if (isLast || !retryable) throw await toApiError(response);
      // Drain the body so the connection can be reused for the retry.
      await response.body?.cancel().catch(() => undefined);
      await this.sleep(Math.max(this.backoff(attempt), retryAfterMs(response, this.retryPolicy.maxDelayMs)));
    }
  }

  /** Full jitter ("Exponential Backoff and Jitter", AWS Architecture Blog), capped. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retryPolicy.maxDelayMs, this.retryPolicy.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }
}

async function readBody(response: HttpResponse): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (type.includes('json')) return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
  return text;
}

async function toApiError(response: HttpResponse): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const error = parsed.error;
    if (error && typeof error.code === 'string') {
      const details =
        error.details && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : {};
      return new ApiError(
        response.status,
        error.code,
        typeof error.message === 'string' ? error.message : error.code,
        details,
      );
    }
  } catch {
    // Not our error shape (a proxy's HTML page, API Gateway's bare message): described below.
  }
  const excerpt = text.trim().slice(0, 200);
  return new ApiError(
    response.status,
    `HTTP_${response.status}`,
    excerpt || response.statusText || 'request failed',
  );
}

/** `Retry-After` in seconds (the only form API Gateway and our handlers send), capped. */
function retryAfterMs(response: HttpResponse, capMs: number): number {
  const header = response.headers.get('retry-after');
  const seconds = header === null ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, capMs) : 0;
}

/** The system error code behind a failed `fetch` (undici wraps it in `cause`, sometimes in an AggregateError). */
export function networkErrorCode(error: unknown): string | undefined {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return 'ETIMEDOUT';
  const cause = (error as { cause?: unknown } | undefined)?.cause as
    { code?: unknown; errors?: unknown } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (Array.isArray(cause?.errors)) {
    const first = (cause.errors as { code?: unknown }[]).find((e) => typeof e.code === 'string');
    if (first) return first.code as string;
  }
  return undefined;
}
