/**
 * Where the CLI's bearer token comes from, in one documented order of precedence.
 */
import { findLocalAdminKey } from '../core/auth/local-files.ts';

export interface TokenSources {
  /** `--token`, when given. */
  readonly flag?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The API about to be called. When it is a local platform running on this machine, that
   * platform's admin key is used (found through RUNPLANE_DATA_DIR, `./.runplane`, or the pointer
   * the platform leaves in the user's runtime directory: core/auth/local-files.ts).
   */
  readonly baseUrl?: string;
  readonly cwd?: string;
  /** Told about a local.json that was not believed (not the user's own, or writable by others). */
  readonly onIgnored?: (path: string, why: string) => void;
}

/**
 * The token to send as `Authorization: Bearer <token>`, or `undefined` to send none.
 * Precedence: `--token`, then `RUNPLANE_TOKEN`, then the admin key of the local platform serving
 * `baseUrl`. Empty values count as unset. A remote URL never gets a local key.
 */
export async function resolveToken(sources: TokenSources): Promise<string | undefined> {
  const explicit = [sources.flag, sources.env.RUNPLANE_TOKEN]
    .find((token): token is string => typeof token === 'string' && token.trim() !== '')
    ?.trim();
  if (explicit !== undefined || sources.baseUrl === undefined) return explicit;
  return findLocalAdminKey({
    baseUrl: sources.baseUrl,
    env: sources.env,
    ...(sources.cwd !== undefined ? { cwd: sources.cwd } : {}),
    ...(sources.onIgnored !== undefined ? { onIgnored: sources.onIgnored } : {}),
  });
}
