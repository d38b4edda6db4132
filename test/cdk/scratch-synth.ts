import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RunplaneStack } from '../../lib/runplane-stack.ts';
const t0 = Date.now();
const app = new App({ outdir: '/tmp/cdkout-try' });
new RunplaneStack(app, 'runplane', { corsOrigins: ['https://console.example.com'] });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
console.log('synth ms', Date.now() - t0);
