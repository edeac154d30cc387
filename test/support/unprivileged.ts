/**
 * The real executable run by a user without privileges, for what root would not see: root reads
 * and writes every file whatever its mode. As root the process runs as `nobody` (uid 65534); as
 * anyone else it runs as that user, who is bound by modes already. So a test makes what it must
 * not read or write so by its mode (and, for root, by its owner) and runs the same everywhere,
 * GitHub's hosted runners (not root) included.
 *
 * As `nobody` it must reach what it runs: node, bin/flagops.cjs, the sources the CLI compiles and
 * node_modules. A checkout under a folder only its owner may enter (root's home, mode 700, as on
 * many fresh machines) is out of its reach: then {@link readablePackage} copies the package into a
 * folder under the system's temp folder that everyone may read, node_modules as hard links where
 * the file system allows (the same files, nothing copied) and as copies elsewhere.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers.ts';

/** Part of the name of every test that runs something as an unprivileged user (test/private-checkout.test.ts runs them by it). */
export const UNPRIVILEGED = 'run as an unprivileged user';

/** Whether the tests run as root, so that an unprivileged process runs as `nobody`. */
const AS_ROOT = process.getuid?.() === 0;

/** Runs `node script ...args` in `cwd` with exactly `env`, as `nobody` when the tests run as root (else as the current user). */
export function unprivilegedNode(script: string, args: readonly string[], options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }): SpawnSyncReturns<string> {
  const node = AS_ROOT ? nodeBinary() : process.execPath;
  return spawnSync(node, [script, ...args], { cwd: options.cwd, env: options.env, encoding: 'utf8', ...(AS_ROOT ? { uid: 65534, gid: 65534 } : {}) });
}

/** The flagops executable {@link unprivilegedNode} may run: the checkout's own, or that of a readable copy of it (see {@link readablePackage}). */
export const unprivilegedBin = (): string => join(readablePackage(), 'bin', 'flagops.cjs');

/**
 * Whether a user who is neither the owner nor in the group of any folder on the way may read
 * `path` (and enter it, for a folder): every folder from `/` down lets others in, and `path`
 * lets others read it. Links are followed, as opening the path would.
 */
export function reachableByOthers(path: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  const own = statSync(real);
  if ((own.mode & 0o004) === 0 || (own.isDirectory() && (own.mode & 0o001) === 0)) return false;
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

/** A folder under the system's temp folder that everyone may enter and read. */
function readableTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

let nodeCopy: string | undefined;

/** The node executable running the tests, or a copy others may run when they cannot reach it (a node installed under root's home). */
export function nodeBinary(): string {
  if (reachableByOthers(process.execPath)) return process.execPath;
  if (nodeCopy === undefined) {
    nodeCopy = join(readableTempDir('flagops-node-'), 'node');
    copyFileSync(process.execPath, nodeCopy);
    chmodSync(nodeCopy, 0o755);
  }
  return nodeCopy;
}

/**
 * A copy of the tree `from` at `to` (a new folder) that others may read: folders mode 755, files as
 * hard links when others may read them already (the same file), as copies made readable otherwise
 * or when `from` is on another file system; symbolic links as they are. `skip` names entries of
 * `from` itself left out.
 */
export function readableTree(from: string, to: string, skip: readonly string[] = []): void {
  mkdirSync(to, { mode: 0o755 });
  chmodSync(to, 0o755);
  for (const name of readdirSync(from)) {
    if (skip.includes(name)) continue;
    const source = join(from, name);
    const target = join(to, name);
    const st = lstatSync(source);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (st.isDirectory()) readableTree(source, target);
    else if (st.isFile()) {
      if ((st.mode & 0o004) !== 0 && tryLink(source, target)) continue;
      copyFileSync(source, target);
      chmodSync(target, (st.mode & 0o777) | 0o444 | ((st.mode & 0o100) !== 0 ? 0o111 : 0));
    }
  }
}

function tryLink(source: string, target: string): boolean {
  try {
    linkSync(source, target);
    return true;
  } catch (e) {
    // another file system, or a kernel that protects hard links to others' files: copy
    if (['EXDEV', 'EPERM', 'EMLINK'].includes((e as NodeJS.ErrnoException).code ?? '')) return false;
    throw e;
  }
}

let nodeModulesCopy: string | undefined;

/**
 * A node_modules {@link unprivilegedNode} may read holding the checkout's packages: the checkout's
 * own when the tests do not run as root or others reach it, else (once per test file) a readable
 * tree of it. Without `.cache`: what flagops builds there stays with each checkout.
 */
export function readableNodeModules(): string {
  const real = join(REPO_ROOT, 'node_modules');
  if (!AS_ROOT || reachableByOthers(real)) return real;
  if (nodeModulesCopy === undefined) {
    nodeModulesCopy = join(readableTempDir('flagops-install-'), 'node_modules');
    readableTree(realpathSync(real), nodeModulesCopy, ['.cache']);
  }
  return nodeModulesCopy;
}

let packageCopy: string | undefined;

/**
 * The root of a flagops package {@link unprivilegedNode} may run (`<root>/bin/flagops.cjs`): the
 * checkout itself when the tests do not run as root or others reach it, else (once per test file)
 * a readable tree of the checkout (its git folder aside) whose node_modules links to
 * {@link readableNodeModules}.
 */
export function readablePackage(): string {
  if (!AS_ROOT || reachableByOthers(join(REPO_ROOT, 'bin', 'flagops.cjs')) && reachableByOthers(join(REPO_ROOT, 'node_modules'))) return REPO_ROOT;
  if (packageCopy === undefined) {
    packageCopy = join(readableTempDir('flagops-package-'), 'flagops');
    readableTree(REPO_ROOT, packageCopy, ['.git', 'node_modules']);
    symlinkSync(readableNodeModules(), join(packageCopy, 'node_modules'));
  }
  return packageCopy;
}
