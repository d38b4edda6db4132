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
import type { JobSpecInput, JobState, JobView } from '../core/jobs/job.ts';
import type { JobEvent } from '../core/events/event.ts';
import type { WorkerRecord } from '../core/workers/registry.ts';
import type { AuditEntryView } from '../core/audit/audit-log.ts';

// Type-only imports: the response shapes are the core's own types, erased at run time, so the CLI
// still loads no server code. Nothing here is Node-only (fetch, AbortSignal and crypto.randomUUID
// are globals in Node 20 and in browsers), so the web console uses this same client.
export type { JobEvent, LifecycleEvent, OutputEvent } from '../core/events/event.ts';
/** A worker as `GET /v1/workers` reports it. */
export type WorkerInfo = WorkerRecord;

/** A job as the API returns it: the core's public view plus the scheduler's explanation. */
export type ApiJob = JobView & {
  /** Why a QUEUED job has not started yet (no worker on the queue, no free GPU, ...). */
  readonly waitingReason?: string;
};

export interface EventPage {
  readonly events: readonly JobEvent[];
  /** The `after` to pass for the next page. */
  readonly next: number;
  readonly hasMore: boolean;
}

export interface JobPage {
  readonly jobs: readonly ApiJob[];
  readonly nextCursor: string | null;
}

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
  readonly text: string;
  /** The attempt the text belongs to, as the server reports it. */
  readonly attempt: number | undefined;
  /** The output went past the server's response limit; the rest follows `next` in the events. */
  readonly truncated: boolean;
  /** With `truncated`: the `after` cursor where the text stops. */
  readonly next: number | undefined;
}

/** The body of `POST /v1/jobs`: a job spec, and the group it goes to (the caller's first by default). */
export type SubmitRequest = JobSpecInput & { readonly group?: string };

export type ApiKeyRole = 'admin' | 'member' | 'viewer';

export interface CreateApiKeyRequest {
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly groups: readonly string[];
  /** Lifetime; the server's default (90 days) when absent. */
  readonly ttlSeconds?: number;
}

/** An API key as the API lists it: never the key itself. */
export interface ApiKeyInfo {
  readonly id: string;
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly groups: readonly string[];
  readonly createdBy: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** `rp_<id>_<secret>`: the only time the API returns it. */
  readonly key: string;
}

export interface ApiKeyPage {
  readonly keys: readonly ApiKeyInfo[];
  readonly nextCursor: string | null;
}

/** One link of the audit chain as `GET /v1/audit` returns it (see specs/04-audit-chain.md). */
export type AuditEntry = AuditEntryView;

export interface AuditPage {
  readonly entries: readonly AuditEntry[];
  /** Pass back as `after` for the next page (or later, for entries appended since). */
  readonly next: string;
  readonly hasMore: boolean;
}

export interface ListAuditQuery {
  readonly after?: string;
  readonly limit?: number;
  /** One shard, or `root` for the checkpoints; every shard when absent. */
  readonly shard?: number | 'root';
}

export interface AuditProblem {
  readonly shard: number | 'root';
  readonly seq: number;
  readonly kind: string;
  readonly problem: string;
}

export interface AuditVerifyResult {
  readonly ok: boolean;
  readonly entries: number;
  readonly checkpoints: number;
  readonly shards: number;
  readonly firstBroken?: AuditProblem;
  readonly problems: readonly AuditProblem[];
}

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

export interface RunplaneClientOptions {
  /** For example `http://127.0.0.1:8787` or the API Gateway URL; a trailing slash is ignored. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token?: string | undefined;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retry?: Partial<RetryPolicy>;
  readonly requestTimeoutMs?: number;
  /** Jitter source in [0, 1); injectable so tests can assert exact delays. */
  readonly random?: () => number;
}

type RetryClass = 'idempotent' | 'unprocessed-only';

interface RequestOptions {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: Record<string, string | number | undefined>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly retry: RetryClass;
  /** Resolve to the successful `Response` itself instead of its parsed body. */
  readonly raw?: boolean;
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
  private readonly fetchImpl: typeof fetch;
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

  /** Workers that reported in the last minute. */
  async listWorkers(): Promise<{ workers: WorkerInfo[] }> {
    return this.request<{ workers: WorkerInfo[] }>({ method: 'GET', path: '/v1/workers', retry: 'idempotent' });
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
    const response = await this.request<Response>({
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
      text: await response.text(),
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
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method: options.method,
          headers,
          body,
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
      } catch (error) {
        const reason = networkErrorCode(error);
        const retryable =
          options.retry === 'idempotent' || (reason !== undefined && NOT_SENT_CODES.has(reason));
        if (isLast || !retryable) throw new ConnectionError(this.baseUrl, reason, { cause: error });
        await this.sleep(this.backoff(attempt));
        continue;
      }

      if (response.ok) return (options.raw ? response : await readBody(response)) as T;

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

async function readBody(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (type.includes('json')) return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
  return text;
}

async function toApiError(response: Response): Promise<ApiError> {
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
function retryAfterMs(response: Response, capMs: number): number {
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
