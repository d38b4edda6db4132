/**
 * `runplane keys list`: API keys, newest first, never the keys themselves. Output: a table;
 * `--json`: `{"keys": [...], "nextCursor"}`.
 */
import type { Command } from 'commander';
import type { ApiKeyInfo } from '../../api-client.ts';
import type { RegisterCommand } from '../../command-context.ts';
import { formatTable } from '../../format.ts';

function keyStatus(key: ApiKeyInfo, now: Date): string {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

export function formatKeyTable(keys: readonly ApiKeyInfo[], now: Date): string {
  return formatTable(
    ['ID', 'NAME', 'ROLE', 'GROUPS', 'EXPIRES', 'STATUS'],
    keys.map((k) => [
      k.id,
      k.name,
      k.role,
      k.groups.join(','),
      k.expiresAt?.replace(/\.\d+Z$/, 'Z') ?? 'never',
      keyStatus(k, now),
    ]),
  );
}

export const registerKeysList: RegisterCommand = (command, context) => {
  const { io, output } = context;
  command.option('-a, --all', 'fetch every page').action(async (options: { all?: boolean }, cmd: Command) => {
    const { client, json } = await context.connect(cmd);
    const all: ApiKeyInfo[] = [];
    let cursor: string | null = null;
    do {
      const page = await client.listApiKeys({ limit: 100, ...(cursor ? { cursor } : {}) });
      all.push(...page.keys);
      cursor = page.nextCursor;
    } while (options.all && cursor);
    if (json) return output.printJson({ keys: all, nextCursor: cursor });
    await output.out(all.length === 0 ? 'no API keys\n' : formatKeyTable(all, (io.now ?? (() => new Date()))()));
    if (cursor) await output.err('more keys: run again with --all\n');
  });
};
