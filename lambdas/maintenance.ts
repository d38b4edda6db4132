/**
 * Scheduled every minute (EventBridge): the dispatch sweeper and the reaper for every pool.
 * See core/maintenance/maintenance.ts for what each repairs and the delays they guarantee.
 */
import { createMaintenanceDependencies } from '../core/app/maintenance-dependencies.ts';
import { loadRuntimeConfig } from '../core/config.ts';
import { jsonLogger } from '../core/http/api-handler.ts';
import { sweep } from '../core/maintenance/maintenance.ts';

let deps: ReturnType<typeof createMaintenanceDependencies> | undefined;

export async function handler() {
  const config = loadRuntimeConfig();
  deps ??= createMaintenanceDependencies(config);
  const report = await sweep({ ...deps, log: jsonLogger }, config.queues.map((q) => q.pool));
  jsonLogger('info', 'maintenance sweep', { redispatched: report.redispatched.length, recovered: report.recovered.length });
  return report;
}
