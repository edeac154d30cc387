import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fastLaneFiles } from '../lib/review/review.ts';
import { parsePullRequest } from '../lib/review/pull-request.ts';
import { read, REPO_ROOT } from './helpers.ts';

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly shell?: string;
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
  readonly outputs?: Record<string, string>;
  readonly 'timeout-minutes'?: number;
  readonly steps?: Step[];
}
interface Workflow {
  readonly on: Record<string, { branches?: string[]; types?: string[] } | null>;
  readonly env?: Record<string, string>;
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
    expect(runs(check)).toContain('npx flagops check --base refs/remotes/origin/main --pull-request "$RUNNER_TEMP/pull-request.json"');
  });

  it('passes git and flagops only qualified refs: a tag named origin/main or main never stands in for the branch', () => {
    // git resolves `origin/main` in refs/tags/ first, and actions/checkout with full history fetches every tag
    const commands = allJobs.flatMap(([name, job]) =>
      runs(job).flatMap((run) => run.split('\n').map((line) => [name, line.trim()] as const)).filter(([, line]) => line !== '' && !line.startsWith('#')),
    );
    const invocations = commands.filter(([, line]) => /(^|\$\(|[;|&!]\s*)(git|npx flagops)\s/.test(line));
    expect(invocations.length).toBeGreaterThan(10);
    for (const [name, line] of invocations) {
      // a branch only fully qualified (refs/remotes/origin/main, refs/heads/main); HEAD, HEAD^1 and SHAs are never ambiguous
      expect(line.replace(/refs\/(remotes|heads)\/[\w./-]+/g, ''), `${name}: ${line}`).not.toMatch(/(^|[\s:.'"=])(origin\/)?main\b/);
    }
    expect(commands.map(([, line]) => line).filter((line) => line.includes('refs/remotes/origin/main'))).toEqual([
      'others=$(git diff --name-only refs/remotes/origin/main...HEAD | grep -Ev "$FLAG_STATE_FILES" || true)',
      'npx flagops diff --base refs/remotes/origin/main --format json > "$RUNNER_TEMP/lane.json"',
      'npx flagops check --base refs/remotes/origin/main --pull-request "$RUNNER_TEMP/pull-request.json"',
      'npx flagops diff --base refs/remotes/origin/main --format markdown --max-chars 1000000 >> "$GITHUB_STEP_SUMMARY"',
      'npx flagops diff --base refs/remotes/origin/main --format markdown > flagops-diff.md',
    ]);
  });

  it("writes what flagops reads: the script's file gives the head commit and the opener, so approvals are judged by the commit they were given on", async () => {
    const check = workflow.jobs.check!;
    const script = String(check.steps!.find((s) => s.uses?.startsWith('actions/github-script@'))!.with!.script);
    // The script as actions/github-script runs it: an async function of github, context and require.
    const head = 'c'.repeat(40);
    const commits = [{ sha: 'a'.repeat(40), author: { login: 'sam-lee' }, committer: { login: 'sam-lee' }, commit: { author: { email: 'sam.lee@pms.example.com' } } }];
    const reviews = [{ user: { login: 'pms-lead' }, state: 'APPROVED', commit_id: head }];
    const github = { rest: { pulls: { listCommits: 'commits', listReviews: 'reviews' } }, paginate: async (what: string) => (what === 'commits' ? commits : reviews) };
    const context = { repo: { owner: 'pms-example', repo: 'flags' }, payload: { pull_request: { number: 7, head: { sha: head }, user: { login: 'sam-lee' } } } };
    let written = '';
    const fakeRequire = (name: string) => (name === 'node:fs' ? { writeFileSync: (_path: string, text: string) => (written = text) } : undefined);
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...args: unknown[]) => Promise<void>;
    await new AsyncFunction('github', 'context', 'require', script)(github, context, fakeRequire);
    const facts = parsePullRequest(JSON.parse(written));
    expect(facts.head).toBe(head);
    expect(facts.opener).toBe('sam-lee');
    expect(facts.approvals).toEqual([{ login: 'pms-lead', commit: head }]);
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
    // node_modules comes from a cache keyed by the lock file; npm ci runs on a miss
    expect(check.steps!.find((s) => s.uses?.startsWith('actions/cache@'))!.with).toEqual({ path: 'node_modules', key: "node-modules-${{ runner.os }}-node20-${{ hashFiles('package-lock.json') }}" });
    expect(check.steps!.find((s) => s.run === 'npm ci')!.if).toBe("steps.modules.outputs.cache-hit != 'true'");
    expect(at('npx flagops check --base refs/remotes/origin/main')).toBeGreaterThan(at('npm test'));
    const diff = commands[at('npx flagops diff')]!;
    expect(diff).toContain('npx flagops diff --base refs/remotes/origin/main --format markdown --max-chars 1000000 >> "$GITHUB_STEP_SUMMARY"');
    expect(diff).toContain('npx flagops diff --base refs/remotes/origin/main --format markdown > flagops-diff.md');
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
    expect(pulumi.with).toMatchObject({ command: 'preview', 'stack-name': '${{ matrix.stack }}', 'cloud-url': '${{ secrets.PULUMI_BACKEND_URL }}', policyPacks: 'infra/policy-pack' });
    expect(preview.env?.PULUMI_CONFIG_PASSPHRASE).toBe('${{ secrets.PULUMI_CONFIG_PASSPHRASE }}');
  });

  it('deploys on push to main: dev, then staging, then production, each in its GitHub environment', () => {
    const { 'deploy-dev': dev, 'deploy-staging': staging, 'deploy-production': production, lane } = workflow.jobs;
    expect(lane!.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(dev!.needs).toBe('lane');
    // the normal path also runs when the lane job failed (never on a pull request, never when cancelled)
    expect(dev!.if).toBe("${{ !cancelled() && github.event_name == 'push' && github.ref == 'refs/heads/main' && needs.lane.outputs.fast != 'true' }}");
    expect(staging!.needs).toBe('deploy-dev');
    expect(production!.needs).toBe('deploy-staging');
    for (const [job, stack] of [[dev, 'dev'], [staging, 'staging'], [production, 'production']] as const) {
      expect(job!.uses).toBe('./.github/workflows/deploy-stack.yml');
      expect(job!.with).toEqual({ stack });
    }
    // the reusable workflow runs in the environment named after the stack (production has required reviewers)
    expect(Object.keys(deployStack.on)).toEqual(['workflow_call']);
    const up = deployStack.jobs.up!;
    expect(up.environment).toBe('${{ inputs.environment || inputs.stack }}');
    const pulumi = up.steps!.find((s) => s.uses?.startsWith('pulumi/actions@'))!;
    expect(pulumi.with).toMatchObject({ command: 'up', 'stack-name': '${{ inputs.stack }}', 'cloud-url': '${{ secrets.PULUMI_BACKEND_URL }}', policyPacks: 'infra/policy-pack' });
    expect(up.env?.PULUMI_CONFIG_PASSPHRASE).toBe('${{ secrets.PULUMI_CONFIG_PASSPHRASE }}');
    expect(runs(up)).toContain('npx flagops check --base HEAD');
  });

  it('takes a pull request that only lowers exposure into the fast lane: flagops check and flagops diff, without the test suite', () => {
    const check = workflow.jobs.check!;
    const lane = check.steps!.find((s) => s.id === 'lane')!;
    // the PR's own code never decides alone: anything but flag files and flag ConfigMaps is the full lane
    expect(lane.run).toContain('git diff --name-only refs/remotes/origin/main...HEAD | grep -Ev "$FLAG_STATE_FILES"');
    expect(workflow.env?.FLAG_STATE_FILES).toBe('^(environments/[^/]+/flags\\.yaml|dist/[^/]+/(configmap-feature-flags-config|featureflag-feature-flags)\\.yaml)$');
    expect(lane.run).toContain('npx flagops diff --base refs/remotes/origin/main --format json');
    expect(lane.run).toContain(`jq -r '.lane.fast'`);
    // the long steps are skipped in the fast lane; check and diff never are
    const skipped = (s: Step) => s.if?.includes("steps.lane.outputs.fast != 'true'");
    expect(check.steps!.filter(skipped).map((s) => s.name ?? s.run)).toEqual([
      'Install promtool and PostgreSQL for the alert and backup tests',
      'npm test -- --reporter=default --reporter=json --outputFile="$RUNNER_TEMP/vitest.json"',
      'Skipped tests (none may be)',
    ]);
    const index = (s: Step) => check.steps!.indexOf(s);
    expect(index(lane)).toBeLessThan(index(check.steps!.find((s) => s.run?.startsWith('npm test'))!));
    for (const cmd of ['npx flagops check --base refs/remotes/origin/main', 'npx flagops diff --base refs/remotes/origin/main']) {
      const step = check.steps!.find((s) => s.run?.startsWith(cmd))!;
      expect(step.if === undefined || step.if === '${{ !cancelled() }}', cmd).toBe(true);
    }
  });

  it('runs every test under CI and fails when one was skipped, showing the count in the job summary', () => {
    const check = workflow.jobs.check!;
    const test = check.steps!.find((s) => s.run?.startsWith('npm test'))!;
    // the suite under CI, with a JSON report of what ran
    expect(test.run).toBe('npm test -- --reporter=default --reporter=json --outputFile="$RUNNER_TEMP/vitest.json"');
    expect(test.env).toEqual({ CI: 'true' });
    // then the count of skipped tests, after a failed test run too, failing the job when one was skipped
    const count = check.steps!.find((s) => s.name === 'Skipped tests (none may be)')!;
    expect(check.steps!.indexOf(count)).toBe(check.steps!.indexOf(test) + 1);
    expect(count.run).toBe('node --import tsx scripts/skipped-tests.ts "$RUNNER_TEMP/vitest.json" | tee -a "$GITHUB_STEP_SUMMARY"');
    expect(count.shell).toBe('bash'); // -eo pipefail: tee does not hide the exit code
    expect(count.if).toBe("${{ !cancelled() && steps.lane.outputs.fast != 'true' }}");
  });

  it("lets through the workflow's file filter exactly the files flagops allows a lowering-only change", () => {
    const filter = new RegExp(workflow.env!.FLAG_STATE_FILES!);
    for (const env of ['dev', 'staging', 'production']) for (const file of fastLaneFiles(env)) expect(file, file).toMatch(filter);
    for (const file of ['environments/catalog.yaml', 'environments/production/environment.ts', 'dist/production/prometheusrule-pms-alerts.yaml', 'lib/review/review.ts', '.github/workflows/flagops.yml', 'environments/production/flags.yaml.orig', 'xenvironments/production/flags.yaml']) {
      expect(file, file).not.toMatch(filter);
    }
  });

  it('deploys a push that only lowers exposure directly: every stack it touches at once, production through production-fast-lane', () => {
    const lane = workflow.jobs.lane!;
    expect(lane.permissions).toEqual({ contents: 'read', deployments: 'read' });
    expect(lane.outputs).toEqual({
      fast: '${{ steps.guard.outputs.fast }}',
      environments: '${{ steps.lane.outputs.environments }}',
      'raised-production': '${{ steps.lane.outputs.raised-production }}',
    });
    const what = lane.steps!.find((s) => s.id === 'lane')!.run!;
    expect(what).toContain('npx flagops diff --base HEAD^1 --format json');
    expect(what).toContain('git diff --name-only HEAD^1 HEAD | grep -Ev "$FLAG_STATE_FILES"');
    // the guard compares with each stack's last successful deploy: a pending raise keeps the normal path
    expect(String(lane.steps!.find((s) => s.id === 'deployed')!.with!.script)).toContain('github.rest.repos.listDeployments');
    const guard = lane.steps!.find((s) => s.id === 'guard')!.run!;
    expect(guard).toContain('npx flagops diff --base "$sha" --format json');
    expect(guard).toContain('git merge-base --is-ancestor "$sha" HEAD');
    const fast = workflow.jobs['fast-lane']!;
    expect(fast.needs).toBe('lane');
    expect(fast.if).toBe("needs.lane.outputs.fast == 'true'");
    expect(fast.strategy?.matrix?.stack).toBe('${{ fromJSON(needs.lane.outputs.environments) }}');
    expect(fast.uses).toBe('./.github/workflows/deploy-stack.yml');
    expect(fast.with).toEqual({ stack: '${{ matrix.stack }}', environment: "${{ matrix.stack == 'production' && 'production-fast-lane' || matrix.stack }}" });
  });

  it('watches each flag a production deploy raised with flagops monitor --rollback --push, and opens the rollback pull request with the report as its body', () => {
    const watch = workflow.jobs['watch-production']!;
    expect(watch.needs).toEqual(['lane', 'deploy-production']);
    expect(watch.if).toBe("needs.lane.outputs.raised-production != '' && needs.lane.outputs.raised-production != '[]'");
    expect(watch.strategy?.matrix?.flag).toBe('${{ fromJSON(needs.lane.outputs.raised-production) }}');
    expect(workflow.jobs.lane!.steps!.find((s) => s.id === 'lane')!.run).toContain(`select(.environment == "production" and .kind == "raised")`);
    expect(watch['timeout-minutes']).toBeGreaterThan(30);
    // pushed with a bot token: a pull request opened with GITHUB_TOKEN would not run the workflow
    expect(watch.steps![0]).toMatchObject({ uses: 'actions/checkout@v4', with: { token: '${{ secrets.FLAGOPS_BOT_TOKEN }}' } });
    const monitor = watch.steps!.find((s) => s.id === 'monitor')!.run!;
    expect(monitor).toContain('npx flagops monitor "$FLAG" --env production --duration 30m --interval 30s --rollback --push origin --report "$RUNNER_TEMP/monitor.md"');
    const pr = watch.steps!.find((s) => s.run?.includes('gh pr create'))!;
    expect(pr.if).toBe("steps.monitor.outputs.code == '3'");
    expect(pr.run).toContain(`git for-each-ref --format='%(refname:short)' "refs/heads/flagops/rollback/$FLAG-*"`);
    expect(pr.run).toContain('gh pr create --base main --head "$branch" --title "Rollback: $FLAG off in production (flagops monitor)" --body-file "$RUNNER_TEMP/monitor.md"');
    expect(pr.env).toEqual({ GH_TOKEN: '${{ secrets.FLAGOPS_BOT_TOKEN }}' });
  });

  it("checks out the backend with a read-only token in a job that runs nothing of the pull request, and runs flagops refs on it in another", () => {
    // GIVEN the job holding the token: only actions/checkout of the backend and the artifact upload, no run step
    const checkout = workflow.jobs['backend-checkout']!;
    expect(checkout.if).toBe("github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository");
    expect(checkout.permissions).toEqual({ contents: 'read' });
    expect(runs(checkout)).toEqual([]);
    expect(uses(checkout)).toEqual(['actions/checkout@v4', 'actions/upload-artifact@v4']);
    expect(checkout.steps![0]!.with).toEqual({ repository: 'pms-example/pms-backend', path: 'pms-backend', token: '${{ secrets.PMS_BACKEND_READ_TOKEN }}', 'persist-credentials': false });
    expect(checkout.steps![1]!.with).toMatchObject({ name: 'pms-backend', path: 'pms-backend' });
    // AND the job that runs the pull request's flagops gets the code, next to the project as on a developer's machine, and no secret
    const refs = workflow.jobs['code-references']!;
    expect(refs.needs).toBe('backend-checkout');
    expect(JSON.stringify(refs)).not.toContain('secrets.');
    const steps = refs.steps!;
    const download = steps.findIndex((st) => st.uses === 'actions/download-artifact@v4');
    expect(steps[download]!.with).toEqual({ name: 'pms-backend', path: '${{ github.workspace }}/../pms-backend' });
    const run = steps.findIndex((st) => st.run?.startsWith('npx flagops refs'));
    expect(run).toBeGreaterThan(download);
    expect(steps[run]).toMatchObject({ env: { FLAGOPS_SOURCE: '../pms-backend' }, run: 'npx flagops refs --format markdown >> "$GITHUB_STEP_SUMMARY"' });
    // AND the jobs running the pull request's code never name the token
    for (const name of ['check', 'code-references', 'preview']) expect(JSON.stringify(workflow.jobs[name]), name).not.toContain('PMS_BACKEND_READ_TOKEN');
  });

  it('pins every action to a version', () => {
    for (const [name, job] of allJobs) for (const u of uses(job)) expect(u, name).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
  });
});

describe("the kill-switch fast lane's time budget", () => {
  /** The budget table of docs/rollouts.md: stage name and m:ss. */
  const stages = (): [string, number][] => {
    const doc = read(REPO_ROOT, 'docs/rollouts.md');
    const table = doc.slice(doc.indexOf('**Time budget**'), doc.indexOf('**total**'));
    return [...table.matchAll(/^\| \d+ \| (.+?) \| (\d+):(\d\d) \|/gm)].map((m) => [m[1]!, Number(m[2]) * 60 + Number(m[3])]);
  };

  it('is documented stage by stage, from flagops disable to the deploy, and adds up to the stated total, under 5 minutes', () => {
    const budget = stages();
    expect(budget.map(([name]) => name)).toEqual([
      '`flagops disable`, commit, push, `gh pr create` (or CI\'s rollback branch)',
      'PR `check`, fast lane',
      'review and merge',
      '`lane` on main',
      '`fast-lane` deploy of production',
    ]);
    const total = budget.reduce((sum, [, s]) => sum + s, 0);
    expect(total).toBeLessThan(5 * 60);
    const doc = read(REPO_ROOT, 'docs/rollouts.md');
    expect(doc).toContain(`| | **total** | **${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}** |`);
    // the README states the same total
    expect(read(REPO_ROOT, 'README.md')).toContain(`**${Math.floor(total / 60)} min ${total % 60} s**`);
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
