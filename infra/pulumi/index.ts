/**
 * Placeholder Pulumi program: the deploy issue replaces this with one stack per environment that
 * deploys exactly the committed dist/<stack>/ manifests.
 */
export {};
