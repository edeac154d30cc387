#!/usr/bin/env node
// The flagops command. The project is TypeScript run through tsx, so there is no build step
// between `npm ci` and `npx flagops`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
