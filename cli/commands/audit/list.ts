/**
 * `runplane audit list`: audit entries, shards merged by time, each shard in sequence order.
 * Output: a table and, when more pages exist, a hint on stderr; `--json`:
 * `{"entries": [...], "next", "hasMore"}`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { AuditEntry, AuditPage } from '../../api-client.ts';
import type { RegisterCommand } from '../../command-context.ts';
import { formatTable } from '../../format.ts';
import { parsePositiveInt } from '../../options.ts';

interface AuditListOptions {
  readonly after?: string;
  readonly limit?: number;
  readonly shard?: number | 'root';
  readonly all?: boolean;
}

/** `--shard 3` or `--shard root`. */
function parseAuditShard(value: string): number | 'root' {
  if (value === 'root') return 'root';
  if (/^(0|[1-9]\d{0,2})$/.test(value) && Number(value) <= 255) return Number(value);
  throw new InvalidArgumentError('Expected a shard number (0-255) or "root".');
}

export const registerAuditList: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .option('--after <cursor>', 'continue after a previous page (its next)')
    .option('--limit <n>', 'entries per page (with --all: page size)', parsePositiveInt)
    .option('--shard <shard>', 'one shard (0, 1, ...) or "root" for the checkpoints', parseAuditShard)
    .option('-a, --all', 'fetch every page')
    .action(async (options: AuditListOptions, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const entries: AuditEntry[] = [];
      let after = options.after;
      let page: AuditPage;
      do {
        page = await client.listAudit({
          ...(after ? { after } : {}),
          ...(options.limit ? { limit: options.limit } : {}),
          ...(options.shard !== undefined ? { shard: options.shard } : {}),
        });
        entries.push(...page.entries);
        after = page.next;
      } while (options.all && page.hasMore);
      if (json) return output.printJson({ entries, next: page.next, hasMore: page.hasMore });
      await output.out(
        entries.length === 0
          ? 'no audit entries\n'
          : formatTable(
              ['TIME', 'SHARD', 'SEQ', 'ACTOR', 'ACTION', 'TARGET'],
              entries.map((e) => [e.time, String(e.shard), String(e.seq), e.actor, e.action, e.target]),
            ),
      );
      if (page.hasMore) await output.err(`more entries: run again with --after ${page.next}, or use --all\n`);
    });
};
