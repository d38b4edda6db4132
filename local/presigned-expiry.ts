/**
 * Whether a request carries an S3 presigned (SigV4 query) signature whose validity has run out:
 * `X-Amz-Date` (yyyymmddThhmmssZ) plus `X-Amz-Expires` seconds is before `now`. S3 answers such a
 * request 403 AccessDenied "Request has expired"; fauxqs accepts it, so the local platform checks
 * it in front of fauxqs and a local link stops working when an AWS one would.
 */
export function presignedRequestExpired(query: URLSearchParams, now: Date): boolean {
  const signedAt = query.get('X-Amz-Date');
  const expires = query.get('X-Amz-Expires');
  if (signedAt === null || expires === null) return false;
  const at = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(signedAt);
  const seconds = Number(expires);
  // A malformed signature date or expiry is refused as S3 refuses it (never treated as unlimited).
  if (!at || !/^\d{1,6}$/.test(expires)) return true;
  const [, y, mo, d, h, mi, s] = at.map(Number) as [number, number, number, number, number, number, number];
  const signedMs = Date.UTC(y, mo - 1, d, h, mi, s);
  return now.getTime() > signedMs + seconds * 1000;
}

/** S3's answer to an expired presigned request. */
export const EXPIRED_REQUEST_XML =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';
