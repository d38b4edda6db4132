import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure, isConditionalCheckFailed } from '../aws/errors.ts';
import type { PassLease } from './pass-lease.ts';

/** Lease items' key prefix in the jobs table (`pk = PASSLEASE#<pool>`); the scheduler's grant is scoped to it. */
export const PASS_LEASE_KEY_PREFIX = 'PASSLEASE#';

/** Rounds of acquire/mark races before giving up (each round means the lease changed hands meanwhile). */
const MAX_ROUNDS = 5;

/**
 * One item per pool: `holder`, `expiresAtMs`, `again`. Every step is one conditional UpdateItem,
 * so two invocations can never both believe they hold it, and a kick either takes the lease or
 * sets `again` on a lease that is still held (a mark on a free lease would be a lost kick: the
 * condition refuses it and the kick tries to take the lease instead).
 */
export class DynamoDbPassLease implements PassLease {
  constructor(private readonly options: { client: DynamoDBDocumentClient; tableName: string }) {}

  async acquire(pool: string, holder: string, now: Date, ttlMs: number): Promise<boolean> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (
        await this.update(pool, {
          UpdateExpression: 'SET holder = :h, expiresAtMs = :exp, again = :no',
          ConditionExpression: 'attribute_not_exists(holder) OR expiresAtMs < :now',
          ExpressionAttributeValues: { ':h': holder, ':exp': now.getTime() + ttlMs, ':no': false, ':now': now.getTime() },
        })
      ) {
        return true;
      }
      if (
        await this.update(pool, {
          UpdateExpression: 'SET again = :yes',
          ConditionExpression: 'attribute_exists(holder) AND expiresAtMs >= :now',
          ExpressionAttributeValues: { ':yes': true, ':now': now.getTime() },
        })
      ) {
        return false;
      }
    }
    throw dependencyFailure('scheduler pass lease', new Error(`the lease of pool "${pool}" changed hands ${MAX_ROUNDS} times in a row`));
  }

  async release(pool: string, holder: string, now: Date, ttlMs: number): Promise<'released' | 'again' | 'lost'> {
    if (
      await this.update(pool, {
        UpdateExpression: 'REMOVE holder, expiresAtMs SET again = :no',
        ConditionExpression: 'holder = :h AND again = :no',
        ExpressionAttributeValues: { ':h': holder, ':no': false },
      })
    ) {
      return 'released';
    }
    const renewed = await this.update(pool, {
      UpdateExpression: 'SET again = :no, expiresAtMs = :exp',
      ConditionExpression: 'holder = :h',
      ExpressionAttributeValues: { ':h': holder, ':no': false, ':exp': now.getTime() + ttlMs },
    });
    return renewed ? 'again' : 'lost';
  }

  async abandon(pool: string, holder: string): Promise<void> {
    await this.update(pool, {
      UpdateExpression: 'REMOVE holder, expiresAtMs SET again = :no',
      ConditionExpression: 'holder = :h',
      ExpressionAttributeValues: { ':h': holder, ':no': false },
    });
  }

  /** False when the condition refused the write. */
  private async update(pool: string, expression: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> }): Promise<boolean> {
    try {
      await this.options.client.send(new UpdateCommand({ TableName: this.options.tableName, Key: { pk: `${PASS_LEASE_KEY_PREFIX}${pool}` }, ...expression }));
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw dependencyFailure('scheduler pass lease', err);
    }
  }
}
