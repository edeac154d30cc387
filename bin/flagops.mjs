#!/usr/bin/env node
// The flagops command. The project is TypeScript run through tsx, so there is no build step
// between `npm ci` and `npx flagops`.
import { register } from 'tsx/esm/api';

register();
// `flagops diff | head`: a closed pipe ends the output quietly, like git does.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
