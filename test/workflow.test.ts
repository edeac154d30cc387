import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { read, REPO_ROOT } from './helpers.ts';

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}
interface Job {
  readonly if?: string;
  readonly needs?: string | string[];
  readonly permissions?: Record<string, string>;
  readonly environment?: string;
  readonly uses?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
  readonly strategy?: { matrix?: Record<string, unknown> };
  readonly steps?: Step[];
}
interface Workflow {
  readonly on: Record<string, { branches?: string[]; types?: string[] } | null>;
  readonly permissions: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const workflow = parse(read(REPO_ROOT, '.github/workflows/flagops.yml')) as Workflow;
const deployStack = parse(read(REPO_ROOT, '.github/workflows/deploy-stack.yml')) as Workflow & { on: { workflow_call: { inputs: Record<string, unknown> } } };
const runs = (job: Job): string[] => (job.steps ?? []).flatMap((s) => (s.run ? [s.run.trim()] : []));
const uses = (job: Job): string[] => (job.steps ?? []).flatMap((s) => (s.uses ? [s.uses] : []));
const allJobs = [...Object.entries(workflow.jobs), ...Object.entries(deployStack.jobs).map(([k, j]) => [`deploy-stack.${k}`, j] as const)];

describe('the CI workflow', () => {
  it('runs on pull requests, on their reviews (so approvals re-run the gate) and on pushes to main', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'pull_request_review', 'push']);
    expect(workflow.on.pull_request?.branches).toEqual(['main']);
    expect(workflow.on.pull_request_review).toEqual({ types: ['submitted', 'dismissed'] });
    expect(workflow.on.push?.branches).toEqual(['main']);
    expect(workflow.jobs.check!.if).toContain("github.event_name == 'pull_request_review'");
    // previews and the comment belong to the pull request's own events only
    expect(workflow.jobs.preview!.if).toBe("github.event_name == 'pull_request'");
  });

  it("passes the pull request's commit authors and approving reviewers from the GitHub API to flagops check", () => {
    const check = workflow.jobs.check!;
    expect(check.permissions).toEqual({ contents: 'read', 'pull-requests': 'read' });
    const script = String(check.steps!.find((s) => s.uses?.startsWith('actions/github-script@'))!.with!.script);
    expect(script).toContain('github.rest.pulls.listCommits');
    expect(script).toContain('github.rest.pulls.listReviews');
    expect(script).toContain('github.paginate');
    expect(runs(check)).toContain('npx flagops check --base origin/main --pull-request "$RUNNER_TEMP/pull-request.json"');
  });

  it('is read-only by default, and only the comment job may write to pull requests', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(deployStack.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of allJobs) {
      // every job states its permissions explicitly
      expect(job.permissions, name).toBeDefined();
      const writes = Object.entries(job.permissions!).filter(([, v]) => v === 'write').map(([k]) => k);
      expect(writes, name).toEqual(name === 'comment' ? ['pull-requests'] : []);
      expect(job.permissions!.contents, name).toBe('read');
    }
  });

  it('checks a pull request: npm ci, npm test, flagops check against origin/main, flagops diff into the job summary', () => {
    const check = workflow.jobs.check!;
    expect(check.if).toContain("github.event_name == 'pull_request'");
    expect(check.steps![0]).toMatchObject({ uses: 'actions/checkout@v4', with: { 'fetch-depth': 0 } });
    const commands = runs(check);
    const at = (cmd: string) => commands.findIndex((c) => c.startsWith(cmd));
    expect(at('npm ci')).toBeGreaterThanOrEqual(0);
    expect(at('npm test')).toBeGreaterThan(at('npm ci'));
    expect(at('npx flagops check --base origin/main')).toBeGreaterThan(at('npm test'));
    const diff = commands[at('npx flagops diff')]!;
    expect(diff).toContain('npx flagops diff --base origin/main --format markdown --max-chars 1000000 >> "$GITHUB_STEP_SUMMARY"');
    expect(diff).toContain('npx flagops diff --base origin/main --format markdown > flagops-diff.md');
    // the job running the pull request's code gets no secrets
    expect(JSON.stringify(check)).not.toContain('secrets.');
  });

  it('keeps one flagops comment per pull request, found by the diff marker and updated', () => {
    const comment = workflow.jobs.comment!;
    expect(comment.needs).toBe('check');
    const script = String(comment.steps!.find((s) => s.uses?.startsWith('actions/github-script@'))!.with!.script);
    expect(script).toContain("'<!-- flagops-diff -->'");
    expect(script).toContain('updateComment');
    expect(script).toContain('createComment');
  });

  it('previews every stack with pulumi/actions, a self-managed backend and the passphrase from secrets', () => {
    const preview = workflow.jobs.preview!;
    expect(preview.strategy?.matrix?.stack).toEqual(['dev', 'staging', 'production']);
    const pulumi = preview.steps!.find((s) => s.uses?.startsWith('pulumi/actions@'))!;
    expect(pulumi.with).toMatchObject({ command: 'preview', 'stack-name': '${{ matrix.stack }}', 'cloud-url': '${{ secrets.PULUMI_BACKEND_URL }}', policyPacks: 'policies/pulumi' });
    expect(preview.env?.PULUMI_CONFIG_PASSPHRASE).toBe('${{ secrets.PULUMI_CONFIG_PASSPHRASE }}');
  });

  it('deploys on push to main: dev, then staging, then production, each in its GitHub environment', () => {
    const { 'deploy-dev': dev, 'deploy-staging': staging, 'deploy-production': production } = workflow.jobs;
    expect(dev!.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(staging!.needs).toBe('deploy-dev');
    expect(production!.needs).toBe('deploy-staging');
    for (const [job, stack] of [[dev, 'dev'], [staging, 'staging'], [production, 'production']] as const) {
      expect(job!.uses).toBe('./.github/workflows/deploy-stack.yml');
      expect(job!.with).toEqual({ stack });
    }
    // the reusable workflow runs in the environment named after the stack (production has required reviewers)
    expect(Object.keys(deployStack.on)).toEqual(['workflow_call']);
    const up = deployStack.jobs.up!;
    expect(up.environment).toBe('${{ inputs.stack }}');
    const pulumi = up.steps!.find((s) => s.uses?.startsWith('pulumi/actions@'))!;
    expect(pulumi.with).toMatchObject({ command: 'up', 'stack-name': '${{ inputs.stack }}', 'cloud-url': '${{ secrets.PULUMI_BACKEND_URL }}', policyPacks: 'policies/pulumi' });
    expect(up.env?.PULUMI_CONFIG_PASSPHRASE).toBe('${{ secrets.PULUMI_CONFIG_PASSPHRASE }}');
    expect(runs(up)).toContain('npx flagops check --base HEAD');
  });

  it('pins every action to a version', () => {
    for (const [name, job] of allJobs) for (const u of uses(job)) expect(u, name).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
  });
});

describe('CODEOWNERS', () => {
  const rules = read(REPO_ROOT, '.github/CODEOWNERS')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.trim().split(/\s+/));
  /** The owners of a path: the last matching rule wins (directory patterns only, as used here). */
  const ownersOf = (path: string): string[] => {
    const match = [...rules].reverse().find(([pattern]) => pattern === '*' || path.startsWith(pattern!.replace(/^\//, '')));
    return match!.slice(1);
  };

  it('makes the production flag file, the policies and the production manifests need release managers', () => {
    for (const path of ['environments/production/flags.yaml', 'policies/change-rules.ts', 'dist/production/configmap-feature-flags-config.yaml', '.github/workflows/flagops.yml']) {
      expect(ownersOf(path), path).toEqual(['@pms-example/release-managers']);
    }
    expect(ownersOf('environments/dev/flags.yaml')).toEqual(['@pms-example/platform-team']);
  });
});

describe('the pull-request template', () => {
  it('carries the audit checklist of the rollout playbook', () => {
    const template = read(REPO_ROOT, '.github/pull_request_template.md');
    for (const item of ['Feature flag configuration reviewed and approved', 'Rollback procedures tested in staging', 'HIPAA compliance verified', 'Rollback plan documented and approved', 'Backup verification completed']) {
      expect(template).toContain(`- [ ] ${item}`);
    }
  });
});
