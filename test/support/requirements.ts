/**
 * What some tests need from the machine (a tool such as promtool, prometheus, PostgreSQL or
 * util-linux `script`, a privilege, a program), and the one rule for when it is missing: locally
 * those tests are skipped and one line says what is missing and how to install it; under CI
 * ({@link underCi}) they are never skipped, and fail saying the same. docs/testing.md#what-ci-requires.
 *
 * A test file declares its need once and uses it for the tests that need it:
 *
 * ```ts
 * const promtool = requirement({ what: 'promtool', found: havePromtool(), install: 'apt-get install -y prometheus', tests: 'the promtool rule tests' });
 * describe.skipIf(promtool.skip)('promtool on the committed rules', () => {
 *   beforeAll(() => promtool.check());
 * ```
 *
 * test/suite-hygiene.test.ts keeps it the only way a test is skipped.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { underCi as flagopsUnderCi } from '../../lib/review/base.ts';

/**
 * Whether the tests run under CI, where every test must run: flagops's own rule (lib/review/base.ts),
 * `CI` (or `GITHUB_ACTIONS`) set to anything but an empty value, `false` or `0` (in any case).
 * `CI=true` (GitHub Actions), `CI=1` and `CI=yes` all count.
 */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return flagopsUnderCi(env);
}

export interface Need {
  /** What is needed, as a person would name it: `promtool`, `PostgreSQL (initdb)`, `util-linux script`. */
  readonly what: string;
  /** Whether it is here. */
  readonly found: boolean;
  /** How to get it: `apt-get install -y prometheus (.ci/run does it)`. */
  readonly install: string;
  /** The tests that need it, for the line that says they are skipped: `the promtool rule tests`. */
  readonly tests: string;
}

export interface Requirement extends Need {
  /** Whether the tests that need it are skipped here: it is missing, and the tests do not run under CI. */
  readonly skip: boolean;
  /** Throws, saying what is missing and how to install it, when it is missing: the first step of each test (or `beforeAll`) that needs it. */
  check(): void;
}

/**
 * A need of some tests: skipped with a message locally when missing, failing under CI (`env`,
 * the test process's by default). The message is printed once, when the test file is collected.
 */
export function requirement(need: Need, env: NodeJS.ProcessEnv = process.env): Requirement {
  const skip = !need.found && !underCi(env);
  if (skip) console.warn(skipMessage(need));
  return {
    ...need,
    skip,
    check: () => {
      if (!need.found) throw new Error(missingMessage(need));
    },
  };
}

/** The line a local run prints for tests it skips. */
export const skipMessage = (need: Need): string =>
  `SKIPPED ${need.tests}: ${need.what} is missing here (${need.install}); under CI (CI=true or CI=1) they fail instead`;

/** The error of a test that needs what is missing (under CI, where it is not skipped). */
export const missingMessage = (need: Need): string => `${need.tests} need ${need.what}, which is missing: ${need.install}`;

/**
 * The executable `name` on `PATH` (`env`'s), as `command -v` finds it: the first folder holding a
 * regular file by that name that this process may run; undefined when there is none.
 */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there, or not executable: the next folder
    }
  }
  return undefined;
}
