import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../core/auth/api-key.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../../core/auth/api-key-store.ts';
import { ApiKeyService } from '../../core/auth/api-key-service.ts';

/** A store that counts reads, so the cache's effect is visible. */
function countingStore(record: ApiKeyRecord) {
  let current: ApiKeyRecord = record;
  const store = {
    reads: 0,
    async get(id: string) {
      store.reads++;
      return id === current.id ? current : undefined;
    },
    async revoke(_id: string, actor: string, now: Date) {
      current = { ...current, revokedAt: now.toISOString(), revokedBy: actor };
      const { hash: _hash, ...summary } = current;
      return summary;
    },
    revokeElsewhere(at: Date) {
      current = { ...current, revokedAt: at.toISOString(), revokedBy: 'someone' };
    },
  };
  return store;
}

describe('API key record cache', () => {
  const key = generateApiKey();
  const base: ApiKeyRecord = {
    id: key.id,
    name: 'ci',
    hash: hashApiKey(key.token),
    role: 'member',
    groups: ['vision'],
    createdBy: 'admin',
    createdAt: '2026-11-01T00:00:00.000Z',
    expiresAt: '2026-11-23T00:00:30.000Z',
    revokedAt: null,
    revokedBy: null,
  };
  const admin = { subject: 'admin', role: 'admin' as const, groups: ['vision'] };

  it('reuses a record within the window, re-reads after it, and never skips the expiry or hash checks', async () => {
    let now = new Date('2026-11-23T00:00:00.000Z');
    const store = countingStore(base);
    const service = new ApiKeyService({ store: store as unknown as ApiKeyStore, clock: () => now, recordCacheSeconds: 10 });
    await service.authenticate(key.token);
    await service.authenticate(key.token);
    expect(store.reads).toBe(1);
    await expect(service.authenticate(`${key.token.slice(0, -2)}xx`)).rejects.toThrow();
    // A revocation made by another process is seen once the window has passed.
    store.revokeElsewhere(now);
    await expect(service.authenticate(key.token)).resolves.toMatchObject({ keyId: key.id });
    now = new Date(now.getTime() + 10_001);
    await expect(service.authenticate(key.token)).rejects.toMatchObject({ reason: expect.stringMatching(/revoked/) });
    expect(store.reads).toBe(2);
  });

  it('applies expiry on every request even from the cache', async () => {
    let now = new Date('2026-11-23T00:00:25.000Z');
    const service = new ApiKeyService({ store: countingStore(base) as unknown as ApiKeyStore, clock: () => now, recordCacheSeconds: 60 });
    await service.authenticate(key.token);
    now = new Date('2026-11-23T00:00:31.000Z');
    await expect(service.authenticate(key.token)).rejects.toMatchObject({ reason: expect.stringMatching(/expired/) });
  });

  it('forgets a key at once when this process revokes it', async () => {
    const now = new Date('2026-11-23T00:00:00.000Z');
    const store = countingStore(base);
    const service = new ApiKeyService({ store: store as unknown as ApiKeyStore, clock: () => now, recordCacheSeconds: 60 });
    await service.authenticate(key.token);
    await service.revoke(key.id, admin);
    await expect(service.authenticate(key.token)).rejects.toMatchObject({ reason: expect.stringMatching(/revoked/) });
  });

  it('reads every request when the cache is off (the default)', async () => {
    const store = countingStore(base);
    const service = new ApiKeyService({ store: store as unknown as ApiKeyStore, clock: () => new Date('2026-11-23T00:00:00.000Z') });
    await service.authenticate(key.token);
    await service.authenticate(key.token);
    expect(store.reads).toBe(2);
  });

  it('remembers unknown key ids briefly, so invented ids do not cost a read per request', async () => {
    let now = new Date('2026-11-23T00:00:00.000Z');
    const store = countingStore(base);
    const service = new ApiKeyService({ store: store as unknown as ApiKeyStore, clock: () => now, recordCacheSeconds: 10 });
    const invented = generateApiKey();
    for (let i = 0; i < 5; i++) await expect(service.authenticate(invented.token)).rejects.toMatchObject({ reason: `unknown API key ${invented.id}` });
    expect(store.reads).toBe(1);
    // At most 5 s: a key that comes to exist is usable soon after.
    now = new Date(now.getTime() + 5_001);
    await expect(service.authenticate(invented.token)).rejects.toThrow();
    expect(store.reads).toBe(2);
  });

  it('answers an unknown id and a wrong secret the same way', async () => {
    const service = new ApiKeyService({ store: countingStore(base) as unknown as ApiKeyStore, clock: () => new Date('2026-11-23T00:00:00.000Z') });
    const wrongSecret = generateApiKey(key.id);
    const unknown = generateApiKey();
    const reasonOf = (token: string) => service.authenticate(token).then(() => 'accepted', (e: { reason: string }) => e.reason.replace(/[0-9A-Z]{26}/, 'ID'));
    expect(await reasonOf(wrongSecret.token)).toBe(await reasonOf(unknown.token));
  });
});
