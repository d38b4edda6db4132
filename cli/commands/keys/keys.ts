/** `runplane keys ...`: the API key commands (admins), one file each beside this one. */
import type { RegisterCommand } from '../../command-context.ts';
import { registerKeysCreate } from './create.ts';
import { registerKeysList } from './list.ts';
import { registerKeysRevoke } from './revoke.ts';

export const registerKeys: RegisterCommand = (command, context) => {
  registerKeysCreate(command.command('create').description('create an API key; prints the key once, on stdout'), context);
  registerKeysList(
    command.command('list').alias('ls').description('list API keys, newest first (never the keys themselves)'),
    context,
  );
  registerKeysRevoke(command.command('revoke').description('revoke an API key: requests with it fail from now on'), context);
};
