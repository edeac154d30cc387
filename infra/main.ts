/**
 * The cdk8s app entry point (cdk8s.yaml `app`): validates, synthesizes every environment and
 * writes dist/<env>/. The same as `npx flagops synth`.
 */
import { main } from '../cli/main.ts';

process.exitCode = await main(['node', 'flagops', 'synth', ...process.argv.slice(2)]);
