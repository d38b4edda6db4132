// Container health check for the worker image (Dockerfile HEALTHCHECK and the ECS task definition).
//
// The worker touches RUNPLANE_WORKER_HEARTBEAT_FILE on every turn of its poll loop. A file older
// than RUNPLANE_WORKER_HEARTBEAT_MAX_AGE_SECONDS (default 120: several 20-second long polls) means
// the event loop is stuck, and the container is reported unhealthy so ECS replaces it. Before
// the first heartbeat (start-up, covered by the start period) there is nothing to judge. A dead
// worker needs no check: tini exits with it and the container stops.
import { statSync } from 'node:fs';

const file = process.env.RUNPLANE_WORKER_HEARTBEAT_FILE;
const maxAgeSeconds = Number(process.env.RUNPLANE_WORKER_HEARTBEAT_MAX_AGE_SECONDS ?? '120');

function check() {
  if (!file) return { healthy: true, message: 'no heartbeat file configured' };
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch (err) {
    if (err && err.code === 'ENOENT') return { healthy: true, message: 'no heartbeat yet' };
    return { healthy: false, message: `cannot read ${file}: ${err.message}` };
  }
  const ageSeconds = (Date.now() - mtimeMs) / 1000;
  return ageSeconds <= maxAgeSeconds
    ? { healthy: true, message: `heartbeat ${ageSeconds.toFixed(0)} s ago` }
    : { healthy: false, message: `last heartbeat ${ageSeconds.toFixed(0)} s ago (limit ${maxAgeSeconds} s)` };
}

const result = check();
console.log(result.message);
process.exit(result.healthy ? 0 : 1);
