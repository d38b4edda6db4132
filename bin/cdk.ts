import { App, Validations } from 'aws-cdk-lib';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RunplaneStack } from '../lib/runplane-stack.ts';
import { readSettings } from '../lib/settings.ts';

/**
 * The CDK app: `npx cdk synth | deploy | diff`. Environment-agnostic (account and region come from
 * the deploying credentials), so synthesis needs neither credentials nor network. cdk-nag's AWS
 * Solutions checks run on every synth and fail it on any finding not acknowledged in code.
 */
const app = new App();
const settings = readSettings(app.node);

new RunplaneStack(app, settings.stackName, {
  description: 'Runplane: serverless job platform (API, queues, tables, GPU worker pools)',
  corsOrigins: settings.corsOrigins,
  protectData: settings.protectData,
  deployWorkers: settings.deployWorkers,
  containerInsights: settings.containerInsights,
  logRetention: settings.logRetention,
  ...(settings.oidc ? { oidc: settings.oidc } : {}),
  ...(settings.maxTokenLifetimeSeconds !== undefined ? { maxTokenLifetimeSeconds: settings.maxTokenLifetimeSeconds } : {}),
  // Every synth gets a new nonce, so every deploy re-runs the (idempotent) auth bootstrap.
  deployNonce: new Date().toISOString(),
  ...(settings.instancePrices ? { instancePrices: settings.instancePrices } : {}),
  ...(settings.workerImage ? { workerImage: ContainerImage.fromRegistry(settings.workerImage) } : {}),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
