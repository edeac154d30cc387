// The flagops CLI runs as compiled JavaScript: TypeScript through a loader costs about 0.3 s at
// every start, more than a command like `flagops list` should take in all. There is no build step
// to remember: the first command after `npm ci` (or after any source change) bundles the CLI with
// esbuild into node_modules/.cache/flagops/, and every later start checks that the build is still
// exactly what the sources say (a content hash of every file that went into it: the sources, the
// files of the packages bundled with them as installed, package.json, the lockfiles) before running
// it. A stale build never runs; when nothing can be built or cached, the sources run through tsx.
//
// A build belongs to one checkout: the sources' own paths are baked into it (sourceUrls), so its
// folder is named by the checkout's path as well as by its inputs, and checkouts that share a
// node_modules (git worktrees, a linked node_modules) or a FLAGOPS_CACHE_DIR never run each other's
// build, parse store or compiled modules.
//
// The build is one CommonJS file, run with V8's code cache (see runCached): Node 20 has no
// compile cache for modules, and compiling the CLI's code again at every start was the largest
// share of a short command's time.
//
// Modules the CLI loads at run time from the project (environments/<env>/environment.ts) are
// compiled and cached the same way (compileModule), keyed by the content of every file they use.
//
// This file and bin/flagops.cjs are CommonJS: an ES module entry costs Node about 20 ms more to
// start (its loader, and the facade of every builtin it imports).
'use strict';
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const vm = require('node:vm');
const { dirname, join, resolve, sep } = require('node:path');
const { pathToFileURL } = require('node:url');

const ROOT = resolve(__dirname, '..');
/** Where builds are kept (FLAGOPS_CACHE_DIR moves it, for tests and read-only installs). */
const CACHE = process.env.FLAGOPS_CACHE_DIR ? resolve(process.env.FLAGOPS_CACHE_DIR) : join(ROOT, 'node_modules', '.cache', 'flagops');
const FORMAT = 6; // bump when the shape of the cache records changes
const debug = (message) => {
  if (process.env.FLAGOPS_DEBUG) process.stderr.write(`flagops: debug: ${message}\n`);
};

// node:crypto is loaded only when a file's stat changed or something is built (it costs about
// 5 ms to load).
const sha = (data) => require('node:crypto').createHash('sha256').update(data).digest('hex');

/**
 * A file's identity for the fast check: size, inode, and the modification and change times. Any
 * write to a file updates its ctime, which no tool can set back: while these are unchanged, so is
 * the content. When they changed, the content hash decides. The times are milliseconds as
 * doubles, exact to a fraction of a microsecond, finer than the clock file systems stamp with; the
 * nanosecond BigInts cost three times as much at a start that checks some 200 files.
 */
function stamp(path) {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st === undefined ? undefined : `${st.size}:${st.ino}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return undefined;
  }
}

/** The content "hash" of an input that did not exist at build time (a lockfile): one appearing makes the build stale. */
const ABSENT = '-';

/**
 * Whether every input of a recorded build still has the content it was built from. `inputs` maps
 * an absolute path to its content hash (paths as they are: resolving 200 of them again would cost
 * more than their stats); `stamps` to its stat stamp when the hash was taken. Refreshes the stamps
 * of files whose stat changed but whose content did not (`record.restamped`): a package installed
 * again with the same files (new inodes) keeps its build.
 */
function fresh(record) {
  if (!record || record.format !== FORMAT || record.root !== ROOT || record.node !== process.versions.node) return false;
  for (const [path, hash] of Object.entries(record.inputs)) {
    const now = stamp(path);
    if (now === undefined || hash === ABSENT) {
      if (now === undefined && hash === ABSENT) continue;
      return false;
    }
    if (record.stamps?.[path] === now) continue;
    let text;
    try {
      text = readFileSync(path);
    } catch {
      return false;
    }
    if (sha(text) !== hash) return false;
    record.stamps = { ...record.stamps, [path]: now };
    record.restamped = true;
  }
  return true;
}

/** The stat stamps of `inputs` (absolute paths). */
const stampsOf = (inputs) => Object.fromEntries(Object.keys(inputs).map((path) => [path, stamp(path)]));

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Writes a file by rename, so a reader never sees half of it. */
function writeAtomic(path, text) {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

/**
 * The sources use `import.meta.url` to find files next to them (schemas, CRDs, scripts, runbooks);
 * a CommonJS bundle has no such thing. Each source's own URL is put in its place.
 */
const sourceUrls = {
  name: 'flagops-source-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.split(sep).includes('node_modules')) return undefined;
      const contents = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents, loader: 'ts' };
    });
  },
};

/**
 * Packages bundled into the CLI rather than loaded from node_modules at run time: the small ones
 * that short commands (or `--help`, which registers every command) load, so that they come from
 * V8's code cache too. The large ones (cdk8s, ajv, the Grafana SDK) stay in node_modules, loaded
 * only by the commands that use them.
 */
const BUNDLED = new Set(['yaml', 'commander', 'picocolors', 'diff', 'ignore', 'write-file-atomic']);

/** Every dependency but {@link BUNDLED}, with its subpaths. */
function externals() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((n) => !BUNDLED.has(n));
  return names.flatMap((n) => [n, `${n}/*`]);
}

/**
 * Bundles `entry` (absolute) into one CommonJS file, `outfile`; returns its inputs (absolute paths)
 * with their content hashes. CommonJS, because only a classic script can run with V8's
 * code cache (runCached); the sources' dynamic imports of their own modules become lazy
 * initializers in the one file, so a command still evaluates only what it uses.
 */
async function bundle(entry, outfile) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    // Dependencies stay in node_modules, but for the few every command loads: bundled, they load
    // without resolving dozens of files (yaml alone is 72).
    external: externals(),
    absWorkingDir: ROOT,
    metafile: true,
    logLevel: 'silent',
    plugins: [sourceUrls],
    // Half the text to read and hand to V8 at every start; names are kept for error messages.
    minify: true,
    keepNames: true,
  });
  // The build also depends on how it is made (this file), on which packages stay external
  // (package.json) and on how esbuild reads TypeScript (tsconfig.json); an install or update shows
  // in the lockfiles even where it leaves every bundled file as it was.
  const files = new Set([__filename, ...['package.json', 'tsconfig.json', 'package-lock.json', join('node_modules', '.package-lock.json')].map((f) => join(ROOT, f))]);
  // Every file esbuild read, bundled packages' files included, and the package.json files that
  // decide how it read those (their entry points, exports, module type).
  for (const input of Object.keys(result.metafile.inputs)) {
    const absolute = resolve(ROOT, input);
    files.add(absolute);
    for (const manifest of packageManifests(absolute)) files.add(manifest);
  }
  const inputs = {};
  for (const path of [...files].sort()) {
    try {
      inputs[path] = sha(readFileSync(path));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
      inputs[path] = ABSENT;
    }
  }
  return inputs;
}

/**
 * The package.json files between a file installed under node_modules and its package's root
 * (`node_modules/<name>` or `node_modules/@scope/<name>`), the root's included; none for a file of
 * the project.
 */
function packageManifests(file) {
  const parts = file.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return [];
  const depth = at + (parts[at + 1]?.startsWith('@') ? 3 : 2);
  const manifests = [];
  for (let end = parts.length - 1; end >= depth; end--) {
    const manifest = [...parts.slice(0, end), 'package.json'].join(sep);
    if (end === depth || existsSync(manifest)) manifests.push(manifest);
  }
  return manifests;
}

/**
 * What the compiled CLI gives the sources (lib/workspace/project.ts uses it when present): the
 * project's TypeScript modules compiled and loaded, and a folder for the parses kept across runs
 * (in the build's folder: other code never meets them).
 */
const runtime = {
  async importModule(absolute) {
    // A cache that cannot be written (another user's checkout) only costs speed: tsx loads the source.
    const compiled = await compileModule(absolute).catch(() => undefined);
    if (compiled) return require(compiled);
    const { tsImport } = await import('tsx/esm/api');
    return tsImport(pathToFileURL(absolute).href, __filename);
  },
  parses: undefined,
  debug,
};

/** The compiled CLI's `cli/main` module: built now when missing or stale. */
async function loadCli() {
  const pointer = join(CACHE, POINTER);
  let record = readJson(pointer);
  const checking = process.env.FLAGOPS_DEBUG ? { wall: process.hrtime.bigint(), cpu: process.cpuUsage() } : undefined;
  if (!fresh(record)) {
    try {
      record = await buildCli();
    } catch (e) {
      debug(`no compiled CLI (${e.message}); running the sources through tsx`);
      return loadSources();
    }
  } else if (checking !== undefined) {
    // The cost of the check, which the start-up bench reports (npm run bench -- --only=startup).
    const cpu = process.cpuUsage(checking.cpu);
    const ms = (n) => n.toFixed(2);
    debug(`build check: ${Object.keys(record.inputs).length} input files unchanged, in ${ms(Number(process.hrtime.bigint() - checking.wall) / 1e6)} ms (${ms((cpu.user + cpu.system) / 1000)} ms of CPU)`);
  }
  if (record.restamped) {
    try {
      delete record.restamped;
      writeAtomic(pointer, `${JSON.stringify(record)}\n`);
    } catch {
      // a read-only cache: the content check runs again next time
    }
  }
  runtime.parses = join(CACHE, record.dir, 'parses');
  globalThis.__flagopsModules = runtime;
  try {
    return runCached(join(CACHE, record.dir, 'main.cjs'));
  } catch (e) {
    // A build that does not load is never worth a broken command: run the sources instead.
    debug(`the compiled CLI does not load (${e.message}); running the sources through tsx`);
    delete globalThis.__flagopsModules;
    return loadSources();
  }
}

/**
 * The code cache of a run is kept per command: V8 compiles a function only when it first runs, and
 * the cache holds what was compiled, so each command's cache has that command's code. The
 * command is the first argument that is not an option, as cli/main.ts reads it.
 */
function codeCacheName(argv) {
  const args = argv.slice(2);
  const command = args.find((a) => !a.startsWith('-'));
  if (command === undefined) return args.includes('--help') || args.includes('-h') ? 'help' : 'none';
  return /^[a-z][a-z-]{0,30}$/.test(command) ? command : undefined;
}

/**
 * Runs a CommonJS file with V8's code cache next to it: a start then deserializes the compiled
 * code instead of parsing and compiling it again. V8 checks the cache against the source and its
 * own version and flags; a rejected or missing one is written (by rename) when the process exits,
 * so that it holds every function the command ran. The cache is per build folder: a new build
 * never meets an old cache. A name that is not one of the CLI's commands (`exports.COMMANDS`)
 * writes none, so typos do not fill the folder.
 */
function runCached(file) {
  const name = codeCacheName(process.argv);
  const cacheFile = name === undefined ? undefined : `${file}.${name}.v8`;
  let cachedData;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // no cache yet: compiled from the source, cached at exit
  }
  const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const loaded = { exports: {}, filename: file, id: file };
  script.runInThisContext().call(loaded.exports, loaded.exports, Module.createRequire(file), loaded, file, dirname(file));
  if (script.cachedDataRejected) debug(`V8 rejected the code cache ${cacheFile}; it is written again at exit`);
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      const known = name === 'none' || name === 'help' || loaded.exports.COMMANDS?.some((m) => m.names.includes(name));
      if (!known) return;
      try {
        writeAtomic(cacheFile, script.createCachedData());
      } catch {
        // a read-only cache: the next start compiles again
      }
    });
  }
  return loaded.exports;
}

/**
 * The bundle imports its external packages by name, resolved from where it lies: in a cache inside
 * the checkout's node_modules, from that node_modules; in one outside it (FLAGOPS_CACHE_DIR, which
 * several checkouts may share), through a link in `dir` (a build's own folder, or the checkout's
 * modules folder) to this checkout's node_modules.
 */
function linkPackages(dir) {
  const link = join(dir, 'node_modules');
  if (CACHE.startsWith(join(ROOT, 'node_modules') + sep) || existsSync(link)) return;
  symlinkSync(join(ROOT, 'node_modules'), link, 'dir');
}

/**
 * The checkout's key: the pointer to its current build and its compiled modules are per checkout,
 * so checkouts that share a cache (git worktrees with a linked node_modules, a FLAGOPS_CACHE_DIR)
 * each keep their own instead of rebuilding in turn.
 */
const ROOT_KEY = nameHash(ROOT);
const POINTER = `current-${ROOT_KEY}.json`;

/** A short hash for a name (FNV-1a, twice over): cheaper at every start than loading node:crypto. */
function nameHash(text) {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
  }
  return [a, b].map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
}

/** A build no pointer names is removed only after this long: a command still running from it may load more of it. */
const KEEP_UNUSED_MS = 24 * 60 * 60 * 1000;

/** Removes builds that no checkout uses any more and that no running command can still be loading. */
function pruneBuilds() {
  const names = readdirSync(CACHE);
  // A pointer in an older format is left by an older flagops: its build is rebuilt when it runs.
  const pointers = names.filter((n) => /^current-[0-9a-f]+\.json$/.test(n)).map((n) => readJson(join(CACHE, n)));
  const used = new Set(pointers.filter((p) => p?.format === FORMAT).map((p) => p.dir));
  for (const name of names) {
    if (!name.startsWith('cli-') || used.has(name)) continue;
    try {
      if (Date.now() - statSync(join(CACHE, name)).mtimeMs > KEEP_UNUSED_MS) rmSync(join(CACHE, name), { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

async function buildCli() {
  mkdirSync(CACHE, { recursive: true });
  const work = join(CACHE, `build-${process.pid}-${Date.now()}`);
  try {
    const inputs = await bundle(join(ROOT, 'cli', 'main.ts'), join(work, 'main.cjs'));
    linkPackages(work);
    // Named by the checkout too: the same sources at another path make another build (their paths are in it).
    const dir = `cli-${sha(JSON.stringify({ root: ROOT, node: process.versions.node, inputs })).slice(0, 16)}`;
    if (existsSync(join(CACHE, dir))) rmSync(work, { recursive: true, force: true });
    else renameSync(work, join(CACHE, dir));
    const record = { format: FORMAT, root: ROOT, node: process.versions.node, dir, inputs, stamps: stampsOf(inputs) };
    writeAtomic(join(CACHE, POINTER), `${JSON.stringify(record)}\n`);
    pruneBuilds();
    debug(`compiled the CLI into ${join(CACHE, dir)}`);
    return record;
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

async function loadSources() {
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(join(ROOT, 'cli', 'main.ts')).href);
}

/**
 * Compiles a TypeScript module of the project (an environment.ts) into the checkout's folder of the
 * cache, keyed by the module's path and the content of every file it bundles, and returns the path
 * of the CommonJS file.
 */
async function compileModule(absolute) {
  const modules = join(CACHE, 'modules', ROOT_KEY);
  const key = nameHash(absolute);
  const pointer = join(modules, `${key}.json`);
  let record = readJson(pointer);
  const current = fresh(record);
  if (current && record.restamped) {
    delete record.restamped;
    try {
      writeAtomic(pointer, `${JSON.stringify(record)}\n`);
    } catch {
      // read-only cache
    }
  }
  if (!current) {
    mkdirSync(modules, { recursive: true });
    linkPackages(modules);
    const work = join(modules, `build-${process.pid}-${Date.now()}`);
    try {
      const inputs = await bundle(absolute, join(work, 'module.cjs'));
      const file = `${key}-${sha(JSON.stringify(inputs)).slice(0, 16)}.cjs`;
      renameSync(join(work, 'module.cjs'), join(modules, file));
      record = { format: FORMAT, root: ROOT, node: process.versions.node, file, inputs, stamps: stampsOf(inputs) };
      writeAtomic(pointer, `${JSON.stringify(record)}\n`);
      for (const name of readdirSync(modules)) if (name.startsWith(`${key}-`) && name !== file) rmSync(join(modules, name), { force: true });
      debug(`compiled the environment module ${JSON.stringify(absolute)} into ${join(modules, file)}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return join(modules, record.file);
}

module.exports = { ROOT, loadCli, compileModule };
