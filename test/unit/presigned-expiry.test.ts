import { describe, expect, it } from 'vitest';
import { presignedRequestExpired } from '../../local/presigned-expiry.ts';

const q = (date: string | null, expires: string | null) => {
  const p = new URLSearchParams();
  if (date !== null) p.set('X-Amz-Date', date);
  if (expires !== null) p.set('X-Amz-Expires', expires);
  return p;
};

describe('presigned request expiry (the local S3 front)', () => {
  const signed = '20261201T120000Z';
  it('accepts a request within its validity and refuses one after it', () => {
    expect(presignedRequestExpired(q(signed, '900'), new Date('2026-12-01T12:14:59Z'))).toBe(false);
    expect(presignedRequestExpired(q(signed, '900'), new Date('2026-12-01T12:15:00Z'))).toBe(false);
    expect(presignedRequestExpired(q(signed, '900'), new Date('2026-12-01T12:15:01Z'))).toBe(true);
  });
  it('leaves requests that are not presigned alone', () => {
    expect(presignedRequestExpired(q(null, null), new Date('2030-01-01T00:00:00Z'))).toBe(false);
  });
  it('refuses a malformed date or expiry instead of treating it as unlimited', () => {
    expect(presignedRequestExpired(q('yesterday', '900'), new Date())).toBe(true);
    expect(presignedRequestExpired(q(signed, '-1'), new Date('2026-12-01T12:00:00Z'))).toBe(true);
    expect(presignedRequestExpired(q(signed, 'Infinity'), new Date('2026-12-01T12:00:00Z'))).toBe(true);
  });
});
