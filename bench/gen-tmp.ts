import { generateProject } from './generate.ts';
generateProject(process.argv[2]!, Number(process.argv[3]), process.cwd());
