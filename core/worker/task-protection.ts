/**
 * ECS task scale-in protection, set by the worker on its own task through the ECS agent.
 *
 * The scaler lowers a service's desired count as soon as the backlog shrinks; ECS then stops
 * tasks of its choosing. A worker running a job marks its task protected so ECS stops only idle
 * ones, and clears the mark when it goes idle. Protection expires on its own (ExpiresInMinutes),
 * so a worker that dies without clearing it cannot pin an instance forever; a worker running a
 * long job renews it before then. Locally there is no ECS agent (no ECS_AGENT_URI) and every call
 * is a no-op.
 *
 * See https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html
 * The task role needs `ecs:UpdateTaskProtection`; the agent makes the call with it.
 */

/** ECS accepts 1 minute to 48 hours. */
export const MAX_PROTECTION_MINUTES = 2880;
/** What ECS applies when ExpiresInMinutes is omitted. */
export const DEFAULT_PROTECTION_MINUTES = 120;

const AGENT_TIMEOUT_MS = 5_000;

export interface TaskProtectionState {
  readonly protectionEnabled: boolean;
  /** ISO timestamp; absent when protection is off. */
  readonly expirationDate?: string;
  readonly taskArn?: string;
}

export class TaskProtectionError extends Error {
  constructor(message: string, readonly status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TaskProtectionError';
  }
}

export interface TaskProtectionOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly fetch?: typeof fetch;
}

interface AgentResponse {
  protection?: { ProtectionEnabled?: boolean; ExpirationDate?: string; TaskArn?: string };
  failure?: { Arn?: string; Reason?: string; Detail?: string };
  error?: { Code?: string; Message?: string };
}

/**
 * Turns scale-in protection of the calling ECS task on (for `expiresInMinutes`, default 120) or off.
 * Returns undefined when not running on ECS. Throws TaskProtectionError when the agent refuses, e.g.
 * because the task role lacks ecs:UpdateTaskProtection.
 */
export async function setTaskProtection(
  enabled: boolean,
  expiresInMinutes?: number,
  options: TaskProtectionOptions = {},
): Promise<TaskProtectionState | undefined> {
  const agentUri = (options.env ?? process.env).ECS_AGENT_URI;
  if (!agentUri) return undefined;
  if (expiresInMinutes !== undefined && !(Number.isInteger(expiresInMinutes) && expiresInMinutes >= 1 && expiresInMinutes <= MAX_PROTECTION_MINUTES)) {
    throw new RangeError(`expiresInMinutes must be an integer from 1 to ${MAX_PROTECTION_MINUTES}, got ${expiresInMinutes}`);
  }
  const body = enabled
    ? { ProtectionEnabled: true, ExpiresInMinutes: expiresInMinutes ?? DEFAULT_PROTECTION_MINUTES }
    : { ProtectionEnabled: false };
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(`${agentUri.replace(/\/+$/, '')}/task-protection/v1/state`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(AGENT_TIMEOUT_MS),
    });
  } catch (err) {
    throw new TaskProtectionError('ECS agent unreachable', undefined, { cause: err });
  }
  const text = await response.text();
  let parsed: AgentResponse = {};
  try {
    parsed = text ? (JSON.parse(text) as AgentResponse) : {};
  } catch {
    // A non-JSON body is reported below through the status or the missing `protection`.
  }
  // The agent reports refusals both as HTTP errors and as 200 responses carrying `failure` or `error`.
  const problem = parsed.error
    ? `${parsed.error.Code ?? 'error'}: ${parsed.error.Message ?? ''}`.trim()
    : parsed.failure
      ? `${parsed.failure.Reason ?? 'failure'}${parsed.failure.Detail ? `: ${parsed.failure.Detail}` : ''}`
      : !response.ok
        ? `HTTP ${response.status}`
        : !parsed.protection
          ? 'response has no protection state'
          : undefined;
  if (problem) throw new TaskProtectionError(`ECS task protection update failed: ${problem}`, response.status);
  const p = parsed.protection!;
  return {
    protectionEnabled: p.ProtectionEnabled === true,
    ...(p.ExpirationDate ? { expirationDate: p.ExpirationDate } : {}),
    ...(p.TaskArn ? { taskArn: p.TaskArn } : {}),
  };
}
