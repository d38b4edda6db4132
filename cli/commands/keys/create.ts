/**
 * `runplane keys create`: a new API key. Output: the key alone on stdout (so
 * `KEY=$(runplane keys create ...)` captures exactly it) and what it may do on stderr;
 * `--json`: the created key object, key included.
 */
import { Option, type Command } from 'commander';
import { ROLES } from '../../../core/auth/caller.ts';
import type { ApiKeyRole } from '../../api-client.ts';
import type { RegisterCommand } from '../../command-context.ts';
import { collectGroup, parseDuration } from '../../options.ts';

interface KeyCreateOptions {
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly group: string[];
  readonly ttl?: number;
}

export const registerKeysCreate: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .requiredOption('--name <name>', 'what the key is for, e.g. "ci pipeline"')
    .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
    .requiredOption('-g, --group <group>', 'a group the key acts in (repeatable; the first is its default)', collectGroup)
    .option('--ttl <duration>', 'lifetime: seconds, or a number with s, m, h or d (server default: 90d)', parseDuration)
    .action(async (options: KeyCreateOptions, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const created = await client.createApiKey({
        name: options.name,
        role: options.role,
        groups: options.group,
        ...(options.ttl === undefined ? {} : { ttlSeconds: options.ttl }),
      });
      if (json) return output.printJson(created);
      await output.out(`${created.key}\n`);
      await output.err(
        `created API key ${created.id} "${created.name}": role ${created.role}, groups ${created.groups.join(',')}, ` +
          `expires ${created.expiresAt ?? 'never'}\nstore the key now: it is not shown again\n`,
      );
    });
};
