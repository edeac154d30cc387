/**
 * Pulumi entry point (Pulumi.yaml `main: infra/pulumi/`): one stack per environment, the stack
 * name is the environment name. The default export is what Pulumi runs; what it returns becomes
 * the stack outputs (namespace, kubeContext, flagChecksum, objectCounts).
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { findRoot } from '../../lib/workspace/workspace.ts';
import { deployEnvironment, readStackConfig, type StackOutputs } from './program.ts';

export default async function main(): Promise<StackOutputs> {
  const root = findRoot(dirname(fileURLToPath(import.meta.url)));
  const deployment = await deployEnvironment({ root, stack: pulumi.getStack(), config: () => readStackConfig(new pulumi.Config()) });
  return deployment.outputs;
}
