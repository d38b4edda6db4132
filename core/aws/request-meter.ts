import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';

/** One SDK call as a meter sees it. DynamoDB calls carry the capacity DynamoDB reported for them. */
export interface MeteredCall {
  readonly service: 'dynamodb' | 'sqs' | 's3';
  /** The SDK command's name without `Command`: `TransactWriteItems`, `SendMessage`, ... */
  readonly operation: string;
  readonly input: Readonly<Record<string, unknown>>;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** DynamoDB only: the units per table and per GSI, as DynamoDB reported them (`INDEXES`). */
  readonly capacity?: readonly TableCapacity[];
}

/** One table's part of a call's consumed capacity: the base table and each GSI the call wrote or read. */
export interface TableCapacity {
  readonly table: string;
  readonly tableUnits: number;
  readonly indexes: Readonly<Record<string, number>>;
}

/**
 * Counts SDK calls and DynamoDB's consumed capacity (the benchmark's cost model prices them). Off
 * by default: only a client built with a meter asks DynamoDB for `ReturnConsumedCapacity`.
 */
export interface RequestMeter {
  record(call: MeteredCall): void;
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const WITH_CAPACITY = new Set([...READS, 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

interface Units {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

interface CapacityEntry extends Units {
  TableName?: string;
  Table?: Units;
  GlobalSecondaryIndexes?: Record<string, Units>;
}

function operationOf(commandName: unknown): string {
  return typeof commandName === 'string' ? commandName.replace(/Command$/, '') : 'unknown';
}

/** Total read and write units of a response's ConsumedCapacity (one entry, or one per table). */
export function capacityUnits(operation: string, consumed: CapacityEntry | CapacityEntry[] | undefined): { read: number; write: number } {
  const entries = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
  let read = 0;
  let write = 0;
  for (const e of entries) {
    if (e.ReadCapacityUnits !== undefined || e.WriteCapacityUnits !== undefined) {
      read += e.ReadCapacityUnits ?? 0;
      write += e.WriteCapacityUnits ?? 0;
    } else if (READS.has(operation)) read += e.CapacityUnits ?? 0;
    else write += e.CapacityUnits ?? 0;
  }
  return { read, write };
}

/** Each table's units (the base table and each GSI) of a response's ConsumedCapacity. */
export function capacityByTable(consumed: CapacityEntry | CapacityEntry[] | undefined): TableCapacity[] {
  const entries = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
  const units = (u: Units | undefined) => u?.CapacityUnits ?? (u?.ReadCapacityUnits ?? 0) + (u?.WriteCapacityUnits ?? 0);
  return entries.map((e) => ({
    table: e.TableName ?? '',
    tableUnits: units(e.Table ?? e),
    indexes: Object.fromEntries(Object.entries(e.GlobalSecondaryIndexes ?? {}).map(([name, u]) => [name, units(u)])),
  }));
}

/** Adds the meter to a DynamoDB client: every capacity-bearing call asks for and reports its units. */
export function meterDynamoDb(client: DynamoDBClient, meter: RequestMeter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = operationOf(context.commandName);
      const input = args.input as Record<string, unknown>;
      // INDEXES: the totals, plus the base table's and each GSI's share (the cost model's breakdown).
      if (WITH_CAPACITY.has(operation)) input.ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      const output = result.output as { ConsumedCapacity?: CapacityEntry | CapacityEntry[] };
      const units = capacityUnits(operation, output.ConsumedCapacity);
      meter.record({ service: 'dynamodb', operation, input, readUnits: units.read, writeUnits: units.write, capacity: capacityByTable(output.ConsumedCapacity) });
      return result;
    },
    { step: 'initialize', name: 'runplaneRequestMeter' },
  );
}

/** Adds the meter to an S3 client: one record per request (S3 bills requests by kind: PUT-class, GET-class). */
export function meterS3(client: S3Client, meter: RequestMeter): void {
  meterRequests(client, 's3', meter);
}

/** Adds the meter to an SQS client: one record per request (what SQS bills). */
export function meterSqs(client: SQSClient, meter: RequestMeter): void {
  meterRequests(client, 'sqs', meter);
}

function meterRequests(client: S3Client | SQSClient, service: 's3' | 'sqs', meter: RequestMeter): void {
  (client.middlewareStack as SQSClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const result = await next(args);
      meter.record({ service, operation: operationOf(context.commandName), input: args.input as Record<string, unknown>, readUnits: 0, writeUnits: 0 });
      return result;
    },
    { step: 'initialize', name: 'runplaneRequestMeter' },
  );
}
