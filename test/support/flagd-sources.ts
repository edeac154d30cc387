/**
 * flagd reading several sources, on top of the real flagd evaluator (`@openfeature/flagd-core`).
 *
 * flagd v0.16.1 keeps one store for every `--uri` (core/pkg/store/store.go): each source's flag set
 * replaces only that source's flags, flags are keyed by flagSetId and key, and a key found in two
 * sources is served from the later one. This storage does the same: each source is parsed by
 * flagd-core's own `MemoryStorage` (the parser and validation the flagd providers use), and a
 * `FlagdCore` evaluates on the merged view.
 */
import { FlagdCore, MemoryStorage, type FeatureFlag, type Storage } from '@openfeature/flagd-core';
import type { FlagMetadata, Logger } from '@openfeature/core';

const silent: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

export class FlagdSources implements Storage {
  private readonly sources: MemoryStorage[] = [];
  private merged = new Map<string, FeatureFlag>();
  /** Flag keys found in more than one source. */
  public readonly duplicates = new Set<string>();

  /** Adds one source (a flag set as JSON text), after the ones already added. */
  addSource(flagSet: string): void {
    const storage = new MemoryStorage(silent);
    storage.setConfigurations(flagSet);
    for (const [key, flag] of storage.getFlags()) {
      if (this.merged.has(key)) this.duplicates.add(key);
      this.merged.set(key, flag);
    }
    this.sources.push(storage);
  }

  setConfigurations(): string[] {
    throw new Error('FlagdSources takes its flag sets one source at a time: addSource()');
  }

  getFlag(key: string): FeatureFlag | undefined {
    return this.merged.get(key);
  }

  getFlags(): Map<string, FeatureFlag> {
    return this.merged;
  }

  getFlagSetMetadata(): FlagMetadata {
    return this.sources.at(-1)?.getFlagSetMetadata() ?? {};
  }
}

/** A flagd evaluator over `flagSets`, each one source, in order. */
export function flagdOverSources(flagSets: readonly string[]): { core: FlagdCore; storage: FlagdSources } {
  const storage = new FlagdSources();
  for (const set of flagSets) storage.addSource(set);
  return { core: new FlagdCore(storage, silent), storage };
}
