import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { JOBS_TABLE, tableName } from '../../core/resources.ts';
import { createTableInput, deleteTables, ensureTables } from '../../local/bootstrap.ts';

describe('ensureTables on a table from an older version', () => {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: inject('dynamoEndpoint'), credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const prefix = `t${randomUUID().slice(0, 8)}`;
  afterAll(async () => deleteTables(client, prefix, [JOBS_TABLE]));

  it('adds the GSIs declared since, so a kept local database gets artifactsByAttempt', async () => {
    const older = { ...JOBS_TABLE, globalIndexes: JOBS_TABLE.globalIndexes.filter((g) => g.indexName !== 'artifactsByAttempt') };
    await client.send(new CreateTableCommand(createTableInput(prefix, older)));
    await ensureTables(client, prefix, [JOBS_TABLE]);
    const described = await client.send(new DescribeTableCommand({ TableName: tableName(prefix, JOBS_TABLE) }));
    const names = (described.Table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName).sort();
    expect(names).toEqual(JOBS_TABLE.globalIndexes.map((g) => g.indexName).sort());
  });
});
