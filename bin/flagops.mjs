#!/usr/bin/env node
// The executable is bin/flagops.cjs. This file is kept for links made before it was (an `npx
// flagops` cache in ~/.npm/_npx links its bin once and never again; scripts that name it): it runs
// bin/flagops.cjs, at the cost of an ES module start (about 20 ms).
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./flagops.cjs');
