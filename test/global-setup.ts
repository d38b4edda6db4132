import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { startLocalSqs } from '../local/fauxqs-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

/**
 * One DynamoDB Local (in memory) and one fauxqs for the whole run, both on 127.0.0.1 only. Tests
 * isolate themselves by creating their own tables and queues under a random prefix (see
 * test/support/emulators.ts); `sharedDb` lets tests use any credentials (the local platform does
 * not: it runs DynamoDB Local under a key of its own).
 */
export default async function setup(project: TestProject) {
  const [dynamo, fauxqs] = await Promise.all([startDynamoDbLocal({ sharedDb: true }), startLocalSqs()]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', fauxqs.address);
  return async () => {
    await Promise.all([dynamo.stop(), fauxqs.stop()]);
  };
}
