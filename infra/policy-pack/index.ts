/**
 * CrossGuard policy pack: `pulumi preview --policy-pack infra/policy-pack` runs the manifest
 * policies of `flagops check` (policies/manifest-policies.ts) on the objects a stack is about to
 * deploy, so a manifest changed outside flagops is still caught. Constructing the PolicyPack
 * starts the analyzer server, so the validation code lives in ./manifest-validation.ts (tested).
 */
import { PolicyPack } from '@pulumi/policy';
import { manifestPolicies } from './manifest-validation.ts';

new PolicyPack('flagops-manifests', { policies: manifestPolicies() });
