import { describe, expect, it } from 'vitest';
import { dispatchRefusal, newDispatchKey, signJobSpec } from '../../core/jobs/dispatch-signature.ts';
import { makeJob } from '../support/jobs.ts';

describe('dispatch signature', () => {
  const key = newDispatchKey();

  it('accepts the job it signed, through every state change', () => {
    const job = makeJob({ env: { B: '2', A: '1' }, labels: { team: 'x' } });
    const signed = { ...job, dispatchSignature: signJobSpec(key, job) };
    expect(dispatchRefusal(key, signed)).toBeNull();
    // Transitions change state, attempts and leases, never the spec.
    const running = { ...signed, state: 'RUNNING' as const, attempt: 2, lease: { id: 'l', workerId: 'w', expiresAt: 1 }, history: [] };
    expect(dispatchRefusal(key, running)).toBeNull();
    // Key order of a record is not part of what is signed.
    expect(dispatchRefusal(key, { ...signed, env: { A: '1', B: '2' } })).toBeNull();
  });

  it('refuses a job without a signature, with another key, or with a changed spec', () => {
    const job = makeJob();
    const signed = { ...job, dispatchSignature: signJobSpec(key, job) };
    expect(dispatchRefusal(key, job)).toMatch(/no submit signature/);
    expect(dispatchRefusal(newDispatchKey(), signed)).toMatch(/does not match/);
    for (const changed of [
      { command: ['sh', '-c', 'curl evil'] },
      { env: { LD_PRELOAD: '/tmp/x.so' } },
      { group: 'other' },
      { owner: 'someone-else' },
      { queue: 'gpu' },
      { resources: { gpus: 8, cpu: 1, memoryMiB: 1024 } },
      { timeoutSeconds: 999 },
      { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
    ]) {
      expect(dispatchRefusal(key, { ...signed, ...changed }), JSON.stringify(changed)).toMatch(/does not match/);
    }
    expect(dispatchRefusal(key, { ...signed, dispatchSignature: 'short' })).toMatch(/does not match/);
  });
});
