#!/usr/bin/env node
// The flagops command. It runs the CLI compiled from the TypeScript sources (bin/compiled.mjs:
// built on the first run after `npm ci` or a change, checked against the sources at every start).
import { existsSync, readFileSync } from 'node:fs';
import { loadCli } from './compiled.mjs';

/**
 * The first dependency of package.json that cannot be found, or undefined. Before `npm ci` the
 * first import of one would die with a raw ERR_MODULE_NOT_FOUND stack trace. Cheap: a stat per
 * dependency in the package's own node_modules; only one missing there is resolved the way Node
 * does (a node_modules further up may hold it).
 */
function missingDependency() {
  let names;
  try {
    names = Object.keys(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).dependencies ?? {});
  } catch {
    return undefined; // no readable package.json: nothing to compare with, the imports will tell
  }
  for (const name of names) {
    if (existsSync(new URL(`../node_modules/${name}/package.json`, import.meta.url))) continue;
    try {
      import.meta.resolve(name);
    } catch (e) {
      if (e?.code === 'ERR_MODULE_NOT_FOUND') return name;
    }
  }
  return undefined;
}

// Exit 2, as for every mistake in how flagops is called or set up (docs/what-flagops-refuses.md).
if (missingDependency() !== undefined) {
  process.stderr.write('flagops: error: dependencies are not installed; run `npm ci` first\n');
  process.exit(2);
}

// `flagops diff | head`: a closed pipe ends the output quietly, like git does.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await loadCli();
process.exitCode = await main(process.argv);
