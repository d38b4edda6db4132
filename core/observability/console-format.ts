/**
 * The local platform's console: one short line per job lifecycle event (submitted, started on a
 * worker, finished with state, exit code and duration), every warning and error, the platform's own
 * notices, and per-request lines only when verbose. The same records go to the log file in full;
 * this is only how a person reads them. Returns undefined for a record the console leaves out.
 *
 * @example humanConsoleLine({ level: 'INFO', message: 'job finished', event: 'job.finished', jobId: '01J', state: 'SUCCEEDED', exitCode: 0, durationMs: 1234 }, false)
 * // '12:00:01 ✓ job 01J SUCCEEDED (exit 0) in 1.2s'
 */
export function humanConsoleLine(record: Readonly<Record<string, unknown>>, verbose: boolean): string | undefined {
  const level = String(record.level ?? 'INFO').toUpperCase();
  const time = typeof record.timestamp === 'string' ? record.timestamp.slice(11, 19) : '';
  const at = (text: string) => (time ? `${time} ${text}` : text);
  const job = `job ${String(record.jobId)}`;
  switch (record.event) {
    case 'job.submitted':
      return at(`→ ${job} submitted to queue ${String(record.queue)} (group ${String(record.group)})`);
    case 'job.started':
      return at(`▶ ${job} attempt ${String(record.attempt)} started on worker ${String(record.workerId)}`);
    case 'job.finished': {
      const exit = record.exitCode === null || record.exitCode === undefined ? '' : ` (exit ${String(record.exitCode)})`;
      const mark = record.state === 'SUCCEEDED' ? '✓' : '✗';
      const reason = record.state !== 'SUCCEEDED' && typeof record.reason === 'string' ? `: ${record.reason}` : '';
      return at(`${mark} ${job} ${String(record.state)}${exit} in ${seconds(record.durationMs)}${reason}`);
    }
    case 'http.request':
      return verbose
        ? at(`  ${String(record.method)} ${String(record.path)} → ${String(record.status)} ${String(record.durationMs)}ms`)
        : undefined;
    default:
      break;
  }
  if (level === 'WARN' || level === 'ERROR' || level === 'CRITICAL') {
    return at(`${level === 'WARN' ? 'warning' : 'error'}: ${String(record.message)}${details(record)}`);
  }
  if (record.event === 'platform' || verbose) return at(`${String(record.message)}${verbose ? details(record) : ''}`);
  return undefined;
}

const STANDARD_KEYS = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'event', 'xray_trace_id']);

function details(record: Readonly<Record<string, unknown>>): string {
  const rest = Object.entries(record).filter(([k]) => !STANDARD_KEYS.has(k));
  return rest.length === 0 ? '' : ` ${rest.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`;
}

function seconds(ms: unknown): string {
  return typeof ms === 'number' ? `${(ms / 1000).toFixed(1)}s` : '?s';
}
