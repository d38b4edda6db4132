/**
 * `runplane audit verify`: recompute every link of the audit chain, on the server or (`--local`)
 * here from the listed entries. Output: intact, or the first broken entry and up to 19 more;
 * `--json`: the verification result. Exit 1 when the chain is broken.
 */
import type { Command } from 'commander';
import { verifyListedEntries } from '../../../core/audit/verify.ts';
import type { AuditEntry, AuditPage, AuditVerifyResult, RunplaneClient } from '../../api-client.ts';
import { ExitWith } from '../../cli-errors.ts';
import type { RegisterCommand } from '../../command-context.ts';
import { EXIT_FAILURE } from '../../exit-codes.ts';

/** Every entry of every shard and of the checkpoint chain. */
async function listEveryEntry(client: RunplaneClient): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (const shard of [undefined, 'root'] as const) {
    let after: string | undefined;
    let page: AuditPage;
    do {
      page = await client.listAudit({ limit: 1000, ...(after ? { after } : {}), ...(shard ? { shard } : {}) });
      entries.push(...page.entries);
      after = page.next;
    } while (page.hasMore);
  }
  return entries;
}

export const registerAuditVerify: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .option('--local', "recompute the hashes on this machine from the listed entries instead of the server's check")
    .action(async (options: { local?: boolean }, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const result: AuditVerifyResult = options.local
        ? verifyListedEntries(await listEveryEntry(client))
        : await client.verifyAudit();
      if (json) await output.printJson(result);
      else if (result.ok) {
        await output.out(
          `audit chain intact: ${result.entries} entries in ${result.shards} shards, ${result.checkpoints} checkpoints\n`,
        );
      } else {
        const first = result.firstBroken!;
        await output.out(
          `audit chain BROKEN: first broken entry is shard ${first.shard} seq ${first.seq} (${first.kind}): ${first.problem}\n`,
        );
        for (const p of result.problems.slice(1, 20)) {
          await output.out(`  also shard ${p.shard} seq ${p.seq} (${p.kind}): ${p.problem}\n`);
        }
      }
      if (!result.ok) throw new ExitWith(EXIT_FAILURE);
    });
};
