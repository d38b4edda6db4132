/**
 * The job-item attributes an admission update names (DynamoDbJobStore.admitJob and unadmitJob, the
 * scheduler's only writes of job items): what the scheduler's IAM grant may touch
 * (`dynamodb:Attributes`, lib/scheduler.ts), so a scheduler credential cannot rewrite a job's state,
 * command, lease or history. Adding an attribute to those updates means adding it here, or the
 * scheduler is denied in AWS (test/cdk/iam-coverage.test.ts checks every call against the grant).
 */

/** What admission sets and removes: the pending list's keys, the admitted list's, the holdings list's, and to whom. */
export const ADMISSION_WRITTEN_ATTRIBUTES = ['pendingKey', 'pendingSort', 'dispatchKey', 'admittedAt', 'admittedTo', 'runningKey'] as const;

/**
 * What the updates only read: their conditions (state, attempt, cancel request, the priority the
 * pending sort key embeds) and the values they copy (`queue` into the list keys). Listed because
 * whether IAM counts attributes an update only reads cannot be checked offline, and a grant one
 * name short would stop every admission (specs/11-scheduling.md, decision 23).
 */
export const ADMISSION_READ_ATTRIBUTES = ['state', 'attempt', 'cancelRequested', 'priority', 'queue'] as const;

/** Every attribute an admission update names, the table's key (`pk`) included, as fine-grained access requires. */
export const ADMISSION_UPDATE_ATTRIBUTES = ['pk', ...ADMISSION_WRITTEN_ATTRIBUTES, ...ADMISSION_READ_ATTRIBUTES] as const;
