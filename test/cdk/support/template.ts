import { App, CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { RunplaneStack, type RunplaneStackProps } from '../../../lib/runplane-stack.ts';

export interface SynthesizedStack {
  readonly app: App;
  readonly stack: RunplaneStack;
  readonly template: Template;
  /** Logical id of a construct's CloudFormation resource (its default child for L2s). */
  id(construct: IConstruct): string;
}

/**
 * Builds and synthesizes a RunplaneStack the way bin/cdk.ts does, cdk-nag included (synthesis
 * fails on any unacknowledged finding). Lambda bundling is skipped here to keep the suite fast;
 * test/cdk/synth-cli.test.ts runs the real `cdk synth`, which bundles every handler.
 */
export function synthesize(props: RunplaneStackProps = {}, stackName = 'runplane'): SynthesizedStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new RunplaneStack(app, stackName, props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const template = Template.fromStack(stack);
  const id = (construct: IConstruct) => {
    // L2s expose their resource as defaultChild; a few (AsgCapacityProvider) only as their one CFN child.
    const element =
      construct.node.defaultChild ?? (CfnElement.isCfnElement(construct) ? construct : construct.node.children.find(CfnElement.isCfnElement));
    if (!element) throw new Error(`${construct.node.path} has no CloudFormation resource`);
    return Stack.of(construct).getLogicalId(element as CfnElement);
  };
  return { app, stack, template, id };
}

type Json = unknown;

/** A CloudFormation value as readable text: Ref X → ${X}, GetAtt X.Arn → ${X.Arn}, joins concatenated. */
export function cfnText(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, Json>;
    if ('Ref' in v) return `\${${String(v.Ref)}}`;
    if ('Fn::GetAtt' in v) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, Json[]];
      return parts.map(cfnText).join(sep);
    }
    if ('Fn::Sub' in v) return String(v['Fn::Sub']);
  }
  return JSON.stringify(value);
}

export interface Statement {
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: Record<string, unknown>;
}

/** Every statement of every inline policy attached to a role, normalized for comparison. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as Json[]).some((r) => cfnText(r) === `\${${roleId}}`),
  );
  return policies.flatMap((p) =>
    (p.Properties.PolicyDocument.Statement as Record<string, Json>[]).map((s) => {
      if (s.Effect !== 'Allow') throw new Error(`unexpected ${String(s.Effect)} statement on ${roleId}`);
      const actions = ([] as Json[]).concat(s.Action).map(String);
      const resources = ([] as Json[]).concat(s.Resource).map(cfnText);
      return { actions, resources, ...(s.Condition ? { conditions: s.Condition as Record<string, unknown> } : {}) };
    }),
  );
}

/** Resource properties by logical id. */
export function properties(template: Template, logicalId: string): Record<string, Json> {
  const resource = template.toJSON().Resources[logicalId] as { Properties: Record<string, Json> } | undefined;
  if (!resource) throw new Error(`no resource ${logicalId}`);
  return resource.Properties;
}

/** A Lambda's environment, values as readable text. */
export function functionEnvironment(template: Template, functionId: string): Record<string, string> {
  const env = (properties(template, functionId).Environment as { Variables: Record<string, Json> }).Variables;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, cfnText(v)]));
}
