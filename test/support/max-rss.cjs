// Preloaded (`node -r`) into a flagops process by test/memory-bound.test.ts: at exit, writes the
// process's peak resident memory (KiB, as getrusage reports it) to the file FLAGOPS_TEST_MAX_RSS names.
'use strict';
const { writeFileSync } = require('node:fs');

process.on('exit', () => writeFileSync(process.env.FLAGOPS_TEST_MAX_RSS, String(process.resourceUsage().maxRSS)));
