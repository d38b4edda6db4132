import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure } from '../aws/errors.ts';
import type { WaitingBoard, WaitingBoards } from './waiting-reason.ts';

/** Board items' key prefix in the jobs table. */
export const WAITING_BOARD_KEY_PREFIX = 'SCHEDULER#';

/**
 * One item per queue in the jobs table (`pk = SCHEDULER#<queue>`), rewritten by each scheduling
 * pass: the waiting reasons of the pending jobs it looked at (at most groups × heads per group
 * entries, a few KB), read once per queue by GET /v1/jobs and GET /v1/jobs/{id}.
 */
export class DynamoDbWaitingBoards implements WaitingBoards {
  constructor(private readonly options: { client: DynamoDBDocumentClient; tableName: string }) {}

  async read(queue: string): Promise<WaitingBoard | undefined> {
    try {
      const out = await this.options.client.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: `${WAITING_BOARD_KEY_PREFIX}${queue}` } }));
      return out.Item ? { at: out.Item.at as string, jobs: (out.Item.jobs as WaitingBoard['jobs'] | undefined) ?? {} } : undefined;
    } catch (err) {
      throw dependencyFailure('waiting boards', err);
    }
  }

  async write(queue: string, board: WaitingBoard): Promise<void> {
    try {
      await this.options.client.send(
        new PutCommand({ TableName: this.options.tableName, Item: { pk: `${WAITING_BOARD_KEY_PREFIX}${queue}`, at: board.at, jobs: board.jobs } }),
      );
    } catch (err) {
      throw dependencyFailure('waiting boards', err);
    }
  }
}
