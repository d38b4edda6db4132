import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

export interface ClientOptions {
  readonly region?: string;
  /** Emulator endpoint (DynamoDB Local, fauxqs, LocalStack); AWS's own when omitted. */
  readonly endpoint?: string;
}

// Emulators accept any credentials; giving fixed ones keeps the SDK from searching the machine for them.
const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function createDocumentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: EMULATOR_CREDENTIALS } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function createSqsClient(options: ClientOptions = {}): SQSClient {
  return new SQSClient({
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    // fauxqs and LocalStack hand out queue URLs on hosts that need not resolve: the endpoint must win.
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: EMULATOR_CREDENTIALS } : {}),
  });
}
