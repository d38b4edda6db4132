/**
 * `runplane groups`: the groups' quotas, fair-share weights and current use (admins see every
 * group, others their own); `runplane groups set`, one file beside this one, changes them.
 */
import type { RegisterCommand } from '../../command-context.ts';
import { registerGroupsList } from './list.ts';
import { registerGroupsSet } from './set.ts';

export const registerGroups: RegisterCommand = (command, context) => {
  registerGroupsList(command, context);
  registerGroupsSet(
    command.command('set').description("set a group's quotas and fair-share weight (admins; audited)"),
    context,
  );
};
