/**
 * Where the CLI's bearer token comes from. One function so that new sources (a local admin key
 * under .runplane/, a login cache) are added in one place, in a documented order of precedence.
 */

export interface TokenSources {
  /** `--token`, when given. */
  readonly flag?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The token to send as `Authorization: Bearer <token>`, or `undefined` to send none.
 * Precedence: `--token`, then `RUNPLANE_TOKEN`. Empty values count as unset.
 * Async because later sources read files.
 */
export async function resolveToken(sources: TokenSources): Promise<string | undefined> {
  const candidates = [sources.flag, sources.env.RUNPLANE_TOKEN];
  return candidates
    .find((token): token is string => typeof token === 'string' && token.trim() !== '')
    ?.trim();
}
