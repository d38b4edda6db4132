/** `runplane audit ...`: reading and verifying the audit chain (admins), one file each beside this one. */
import type { RegisterCommand } from '../../command-context.ts';
import { registerAuditList } from './list.ts';
import { registerAuditVerify } from './verify.ts';

export const registerAudit: RegisterCommand = (command, context) => {
  registerAuditList(
    command.command('list').description('list audit entries: shards merged by time, each shard in sequence order'),
    context,
  );
  registerAuditVerify(
    command.command('verify').description('recompute every link of the audit chain; exit 1 naming the first broken entry'),
    context,
  );
};
