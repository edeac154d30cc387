#!/usr/bin/env node
// The flagops command. It runs the CLI compiled from the TypeScript sources (bin/compiled.mjs:
// built on the first run after `npm ci` or a change, checked against the sources at every start).
import { loadCli } from './compiled.mjs';

// `flagops diff | head`: a closed pipe ends the output quietly, like git does.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await loadCli();
process.exitCode = await main(process.argv);
