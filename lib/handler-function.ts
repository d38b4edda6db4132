import { resolve } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlerBundlingOptions } from './bundling.ts';
import { REPO_ROOT } from './paths.ts';

export interface HandlerFunctionProps {
  /** Module exporting `handler`, relative to the repository root. */
  readonly entry: string;
  readonly environment: Record<string, string>;
  readonly description: string;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly logRetention?: logs.RetentionDays;
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Lambda function for one Runplane handler: bundled locally by esbuild (lib/bundling.ts), arm64,
 * Node.js 22, with its own log group and its own role that starts with nothing but the right to
 * write to that log group. Callers grant the rest, statement by statement, so every role holds
 * exactly what its code calls (no AWSLambdaBasicExecutionRole, which allows any log group).
 */
export class HandlerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runplane ${props.description}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group ARN ends in ":*", which covers its streams and nothing else.
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.function = new NodejsFunction(this, 'Function', {
      entry: resolve(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: resolve(REPO_ROOT, 'package-lock.json'),
      description: `Runplane ${props.description}`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      // 512 MB buys a proportionally faster CPU for init and JSON work; the handlers are short.
      memorySize: props.memorySize ?? 512,
      // API Gateway gives up at 30 s; a handler still running after that only costs money.
      timeout: props.timeout ?? Duration.seconds(25),
      role: this.role,
      logGroup: this.logGroup,
      environment: props.environment,
      bundling: handlerBundlingOptions(),
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to Node.js 22 on purpose: the handlers are bundled and tested for node22 (lib/bundling.ts), the same major the worker image runs; moving to a newer runtime is a deliberate, tested upgrade, not a silent one.',
    });
  }

  /** Adds one statement to this function's role. */
  allow(actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>): void {
    this.role.addToPolicy(new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }));
  }
}
