import type { TestProject } from 'vitest/node';
import { startFauxqs } from 'fauxqs';
import { startDynamoDbLocal } from '../local/dynamodb-local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

/**
 * One DynamoDB Local (in memory) and one fauxqs for the whole run. Tests isolate themselves by
 * creating their own tables and queues under a random prefix (see test/support/emulators.ts).
 */
export default async function setup(project: TestProject) {
  const [dynamo, fauxqs] = await Promise.all([startDynamoDbLocal(), startFauxqs({ port: 0, logger: false })]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', fauxqs.address);
  return async () => {
    await Promise.all([dynamo.stop(), fauxqs.stop()]);
  };
}
