/**
 * Published AWS prices, us-east-1, on-demand, without free tiers: the only prices the cost model
 * uses. Checked against the public pricing pages (aws.amazon.com/<service>/pricing) as of 2026;
 * update here, nowhere else.
 */
export const US_EAST_1_PRICES = {
  /** API Gateway HTTP API, first 300 million requests a month. */
  apiGatewayHttpRequest: 1.0 / 1e6,
  /** Lambda requests. */
  lambdaRequest: 0.2 / 1e6,
  /** Lambda duration on arm64 (Graviton), per GB-second. */
  lambdaArmGbSecond: 0.0000133334,
  /** SQS standard queue, per request (each 64 KiB chunk of a payload counts as one). */
  sqsRequest: 0.4 / 1e6,
  /** DynamoDB on-demand write request unit (a transactional write of ≤ 1 KB is 2). */
  dynamodbWriteUnit: 0.625 / 1e6,
  /** DynamoDB on-demand read request unit (a strongly consistent read of ≤ 4 KB is 1). */
  dynamodbReadUnit: 0.125 / 1e6,
  /** S3 Standard PUT, COPY, POST, LIST per request. */
  s3WriteRequest: 0.005 / 1e3,
  /** S3 Standard GET and others per request. */
  s3ReadRequest: 0.0004 / 1e3,
} as const;

export type PriceName = keyof typeof US_EAST_1_PRICES;
