import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BUCKET_PREFIXES } from './access.ts';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LOG_ARCHIVE_PREFIX } from '../core/events/log-archive.ts';
import {
  AUDIT_TABLE,
  EVENTS_TABLE,
  JOBS_TABLE,
  indexProjection,
  tableName,
  type IndexProjection,
  type KeySchema,
  type TableDefinition,
} from '../core/resources.ts';

export interface RunplaneDataProps {
  /** Physical names are `${prefix}-${logicalName}`, as on the local platform. */
  readonly prefix: string;
  /** Deletion protection on tables and RETAIN on stateful resources. Default true. */
  readonly protectData?: boolean;
  /** Days after which artifacts expire. Default 90. */
  readonly artifactRetentionDays?: number;
  /** Lifecycle of the log archive (LOG_ARCHIVE_PREFIX of the artifacts bucket). */
  readonly logArchive?: { readonly transitionDays?: number; readonly expirationDays?: number };
}

const attribute = (key: KeySchema): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

const cdkProjection = (projection: IndexProjection) =>
  projection.type === 'INCLUDE'
    ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...projection.attributes] }
    : { projectionType: projection.type === 'ALL' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY };

/**
 * State: the jobs, events and audit tables (built from core/resources.ts, so keys, GSIs and TTL
 * match the local platform), the artifacts bucket, and the bucket that receives S3 server access
 * logs and VPC flow logs.
 */
export class RunplaneData extends Construct {
  readonly jobs: dynamodb.TableV2;
  readonly events: dynamodb.TableV2;
  readonly audit: dynamodb.TableV2;
  readonly artifacts: s3.Bucket;
  readonly logs: s3.Bucket;

  constructor(scope: Construct, id: string, props: RunplaneDataProps) {
    super(scope, id);
    const protect = props.protectData ?? true;
    const removalPolicy = protect ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const table = (constructId: string, definition: TableDefinition) =>
      new dynamodb.TableV2(this, constructId, {
        tableName: tableName(props.prefix, definition),
        partitionKey: attribute(definition.partitionKey),
        ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
        globalSecondaryIndexes: definition.globalIndexes.map((gsi) => ({
          indexName: gsi.indexName,
          partitionKey: attribute(gsi.partitionKey),
          ...(gsi.sortKey ? { sortKey: attribute(gsi.sortKey) } : {}),
          ...cdkProjection(indexProjection(gsi)),
        })),
        ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
        // On-demand: an idle deployment pays for storage only.
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        // The AWS managed key (aws/dynamodb): key use shows in CloudTrail, no monthly key charge.
        encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
        deletionProtection: protect,
        removalPolicy,
      });
    this.jobs = table('JobsTable', JOBS_TABLE);
    this.events = table('EventsTable', EVENTS_TABLE);
    this.audit = table('AuditTable', AUDIT_TABLE);

    this.logs = new s3.Bucket(this, 'LogsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // S3 server access logging only delivers to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy,
      autoDeleteObjects: false,
    });
    Validations.of(this.logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it into itself would log its own log deliveries forever.',
    });

    const retentionDays = props.artifactRetentionDays ?? 90;
    this.artifacts = new s3.Bucket(this, 'ArtifactsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: 'artifacts/',
      lifecycleRules: [
        // Artifacts and work directories live as long as the job records that point at them are
        // useful; the log archive has its own rule below (a bucket-wide expiry would cut it short).
        ...[BUCKET_PREFIXES.artifacts, BUCKET_PREFIXES.workdirs].map((prefix) => ({ prefix, expiration: Duration.days(retentionDays) })),
        // Logs are read less as they age: Standard-IA after a month, gone after a year (settings).
        {
          id: 'LogArchive',
          prefix: LOG_ARCHIVE_PREFIX,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(props.logArchive?.transitionDays ?? 30) },
          ],
          expiration: Duration.days(props.logArchive?.expirationDays ?? 365),
        },
        // A worker killed mid-upload leaves parts that are billed until aborted.
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy,
    });
  }
}
