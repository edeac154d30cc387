#!/usr/bin/env node
// The flagops command. It runs the CLI compiled from the TypeScript sources (bin/compiled.cjs:
// built on the first run after `npm ci` or a change, checked against the sources at every start).
// CommonJS on purpose: an ES module entry costs about 20 ms more at every start.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const PACKAGE = join(__dirname, '..');

/**
 * The first dependency of package.json that cannot be found, or undefined. Before `npm ci` the
 * first import of one would die with a raw MODULE_NOT_FOUND stack trace. Cheap: a stat per
 * dependency in the package's own node_modules; only one missing there is resolved the way Node
 * does (a node_modules further up may hold it).
 */
function missingDependency() {
  let names;
  try {
    names = Object.keys(JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')).dependencies ?? {});
  } catch {
    return undefined; // no readable package.json: nothing to compare with, the imports will tell
  }
  for (const name of names) {
    if (existsSync(join(PACKAGE, 'node_modules', name, 'package.json'))) continue;
    try {
      require.resolve(`${name}/package.json`);
    } catch (e) {
      if (e?.code === 'MODULE_NOT_FOUND') return name;
    }
  }
  return undefined;
}

async function run() {
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
  const { main } = await require('./compiled.cjs').loadCli();
  process.exitCode = await main(process.argv);
}

run();
