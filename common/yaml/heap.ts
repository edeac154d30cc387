/**
 * A full garbage collection before a large parse. The `yaml` package's tree of a large flag file is
 * hundreds of megabytes while it is built (about 700 bytes per value: its syntax tree and its
 * document at once), and V8 collects lazily: the garbage of the steps before (an earlier parse, the
 * findings counted and dropped) is usually still there when the next large parse starts, and the
 * peak is their sum. Collecting first keeps the peak near what is live. Node exposes `gc` only
 * behind a flag; it is turned on at run time the way the `expose-gc` package does, once, and only
 * when a large text is about to be parsed (a full collection costs tens of milliseconds).
 */
import { createRequire } from 'node:module';

// Loaded on first use: most commands never parse a large file.
const require = createRequire(import.meta.url);

/** Values (common/yaml/yaml-source.ts' estimate) from which a parse is large: about 6,000 complete flag entries. */
export const LARGE_PARSE = 100_000;

let collect: (() => void) | null | undefined;

/** Collects garbage now, if the runtime lets it (a no-op otherwise). */
export function collectGarbage(): void {
  if (collect === undefined) {
    try {
      (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
      collect = (require('node:vm') as typeof import('node:vm')).runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  collect?.();
}
