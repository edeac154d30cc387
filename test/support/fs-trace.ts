/**
 * `node:fs` wrapped for in-process tests of the modules that write and read the project
 * (test/transaction.test.ts, test/kill-switch-patch.test.ts): every call is passed on unchanged, and
 * a test can see the order of the writes, flushes, renames and removals a module makes ({@link fsCalls}),
 * or make one call fail or find its path gone ({@link before}), as a file system, a user without
 * read permission or a concurrent flagops process would. A test file installs it with
 *
 * ```ts
 * vi.mock('node:fs', async (importOriginal) => (await import('./support/fs-trace.ts')).tracedFs(await importOriginal()));
 * ```
 *
 * This module imports nothing from `node:fs` itself (it would get the wrapped one).
 */
import { relative } from 'node:path';

type Fs = typeof import('node:fs');

/** What the wrapped calls record and do. */
export const fsTrace = {
  /** Paths are recorded and hooked relative to it. */
  root: '',
  /** The calls that write, flush, rename or remove, while it is set. */
  log: undefined as string[] | undefined,
  fds: new Map<number, string>(),
  /** Run once, just before the call `op` on `path`; it may throw in the call's place. */
  hooks: [] as { op: string; path: string; run: () => void }[],
};

/** Runs `run` just before the next call `op` (mkdir, open, write, fsync, close, rename, rm, rmdir, readdir, readFile, lstat) on `path`, relative to {@link fsTrace}.root. */
export const before = (op: string, path: string, run: () => void): void => void fsTrace.hooks.push({ op, path, run });

/** An error as Node gives it for a system call that failed with `code`. */
export const systemError = (code: string, syscall: string, path: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected, ${syscall} '${path}'`), { code, syscall, path });

/** The calls of `run` under `root` that write, flush, rename or remove: `open <path>`, `rename <from> -> <to>`, ... */
export function fsCalls(root: string, run: () => void): string[] {
  fsTrace.root = root;
  fsTrace.log = [];
  try {
    run();
    return fsTrace.log;
  } finally {
    fsTrace.log = undefined;
  }
}

/** `fs` with its calls traced and hooked; the rest of it as it is. */
export function tracedFs(fs: Fs): Fs {
  const rel = (path: unknown): string => relative(fsTrace.root, String(path)) || '.';
  const at = (op: string, path: string, logged: string | null = `${op} ${path}`): void => {
    const i = fsTrace.hooks.findIndex((h) => h.op === op && h.path === path);
    if (i >= 0) fsTrace.hooks.splice(i, 1)[0]!.run();
    if (logged !== null) fsTrace.log?.push(logged);
  };
  /** A call that reads: a hook point, never recorded. */
  const reading = <F extends (path: never, ...rest: never[]) => unknown>(op: string, f: F): F => ((path: never, ...rest: never[]) => (at(op, rel(path), null), f(path, ...rest))) as F;
  const wrapped = {
    mkdirSync: ((path, options) => (at('mkdir', rel(path)), fs.mkdirSync(path, options))) as Fs['mkdirSync'],
    openSync: ((path, flags, mode) => {
      at('open', rel(path));
      const fd = fs.openSync(path, flags, mode);
      fsTrace.fds.set(fd, rel(path));
      return fd;
    }) as Fs['openSync'],
    writeSync: ((fd: number, ...rest: unknown[]) => (at('write', fsTrace.fds.get(fd)!), (fs.writeSync as (...a: unknown[]) => number)(fd, ...rest))) as Fs['writeSync'],
    fsyncSync: ((fd) => (at('fsync', fsTrace.fds.get(fd)!), fs.fsyncSync(fd))) as Fs['fsyncSync'],
    closeSync: ((fd) => (at('close', fsTrace.fds.get(fd)!), fs.closeSync(fd))) as Fs['closeSync'],
    renameSync: ((from, to) => (at('rename', rel(from), `rename ${rel(from)} -> ${rel(to)}`), fs.renameSync(from, to))) as Fs['renameSync'],
    rmSync: ((path, options) => (at('rm', rel(path)), fs.rmSync(path, options))) as Fs['rmSync'],
    rmdirSync: ((path, options) => (at('rmdir', rel(path)), fs.rmdirSync(path, options))) as Fs['rmdirSync'],
    readdirSync: reading('readdir', fs.readdirSync),
    readFileSync: reading('readFile', fs.readFileSync),
    lstatSync: reading('lstat', fs.lstatSync),
  };
  return { ...fs, ...wrapped, default: { ...fs, ...wrapped } } as Fs;
}
