import { describe, expect, it } from 'vitest';
import { apiKeyMatches, generateApiKey, hashApiKey, looksLikeApiKey, parseApiKey } from '../../core/auth/api-key.ts';

describe('API key format', () => {
  it('is rp_<ULID>_<43 base64url chars> carrying 256 random bits, hashed with SHA-256', () => {
    const key = generateApiKey();
    expect(key.token).toMatch(/^rp_[0-9A-HJKMNP-TV-Z]{26}_[A-Za-z0-9_-]{43}$/);
    expect(key.token.startsWith(`rp_${key.id}_`)).toBe(true);
    expect(Buffer.from(key.token.slice(30), 'base64url')).toHaveLength(32);
    expect(key.hash).toBe(hashApiKey(key.token));
    expect(key.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(key.hash).not.toContain(key.token.slice(30));
    expect(generateApiKey().token).not.toBe(key.token);
  });

  it('parses only well-formed keys', () => {
    const { id, token } = generateApiKey();
    expect(parseApiKey(token)).toEqual({ id });
    for (const bad of [
      '',
      'rp_',
      `rp_${id}`,
      `rp_${id}_`,
      `rp_${id}_${'a'.repeat(42)}`,
      `rp_${id}_${'a'.repeat(44)}`,
      `rp_${id.toLowerCase()}_${'a'.repeat(43)}`,
      `${token} `,
      `RP_${token.slice(3)}`,
      `rp_${id}_${'a'.repeat(42)}=`,
    ]) {
      expect(parseApiKey(bad), bad).toBeUndefined();
    }
    expect(looksLikeApiKey(token)).toBe(true);
    expect(looksLikeApiKey('eyJhbGciOi.x.y')).toBe(false);
  });

  it('matches a key only against its own hash', () => {
    const a = generateApiKey();
    const b = generateApiKey(a.id);
    expect(apiKeyMatches(a.token, a.hash)).toBe(true);
    expect(apiKeyMatches(b.token, a.hash)).toBe(false);
    expect(apiKeyMatches(a.token, undefined)).toBe(false);
    expect(apiKeyMatches(a.token, 'abc')).toBe(false);
  });
});
