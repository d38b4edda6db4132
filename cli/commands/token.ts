/**
 * `runplane token`: mint a JWT with the deployment's own signing key (whoever holds the private
 * key is an admin in effect). Output: the token alone on stdout.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ROLES } from '../../core/auth/caller.ts';
import { findLocalSigningKeyFile } from '../../core/auth/local-files.ts';
import type { ApiKeyRole } from '../api-client.ts';
import { resolveBaseUrl } from '../api-connection.ts';
import type { GlobalOptions } from '../cli-io.ts';
import { UsageError } from '../cli-errors.ts';
import type { RegisterCommand } from '../command-context.ts';
import { collectGroup, parseDuration } from '../options.ts';

interface TokenOptions {
  readonly subject: string;
  readonly role: ApiKeyRole;
  readonly group: string[];
  readonly ttl: number;
  readonly keyFile?: string;
  readonly dataDir?: string;
}

export const registerToken: RegisterCommand = (command, context) => {
  const { io, output } = context;
  command
    .requiredOption('--subject <subject>', 'who the token stands for (its sub claim)')
    .requiredOption('-g, --group <group>', 'a group the token acts in (repeatable)', collectGroup)
    .addOption(new Option('--role <role>', 'what the token may do').choices(ROLES).default('member'))
    .option('--ttl <duration>', 'lifetime: seconds, or a number with s, m, h or d (max 30d)', parseDuration, 3600)
    .option('--key-file <path>', "signing key document (default: the local platform's .runplane/auth/signing-key.json)")
    .option('--data-dir <dir>', 'local platform data directory holding the signing key')
    .action(async (options: TokenOptions, cmd: Command) => {
      const keyFile =
        options.keyFile ??
        (await findLocalSigningKeyFile({
          baseUrl: await resolveBaseUrl(cmd.optsWithGlobals<GlobalOptions>(), io),
          env: io.env,
          ...(io.cwd === undefined ? {} : { cwd: io.cwd }),
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        }));
      if (!keyFile) {
        throw new UsageError('no signing key found: start the local platform once (runplane dev), or pass --key-file');
      }
      // Loaded on demand: only this command needs jose.
      const { mintToken, parseSigningKey } = await import('../../core/auth/signing-key.ts');
      let text: string;
      try {
        text = readFileSync(keyFile, 'utf8');
      } catch {
        throw new UsageError(`cannot read the signing key ${keyFile}`);
      }
      const token = await mintToken(
        parseSigningKey(text),
        { subject: options.subject, role: options.role, groups: options.group, ttlSeconds: options.ttl },
        (io.now ?? (() => new Date()))(),
      );
      await output.out(`${token}\n`);
    });
};
