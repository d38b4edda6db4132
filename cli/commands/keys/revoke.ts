/**
 * `runplane keys revoke <id>`: requests with the key fail from now on. Output: a line;
 * `--json`: the revoked key object.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../../command-context.ts';

export const registerKeysRevoke: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .argument('<id>', 'key id (the part after rp_, before the second _)')
    .action(async (id: string, _options: unknown, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const key = await client.revokeApiKey(id);
      if (json) return output.printJson(key);
      await output.out(`revoked ${key.id} "${key.name}" at ${key.revokedAt ?? '?'}\n`);
    });
};
