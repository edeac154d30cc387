/**
 * The layers of docs/architecture.md, enforced: every import (static, dynamic or type-only) of the
 * project's own modules goes down or sideways in this order, and no module imports itself back
 * through others.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers.ts';

/**
 * Bottom first: one top-level folder per layer, so the tree itself shows the layers. A module may
 * import its own layer and the layers below it.
 */
const LAYERS: readonly { readonly folder: string; readonly holds: string }[] = [
  { folder: 'model', holds: 'the typed model every layer shares' },
  { folder: 'environments', holds: "the project's data and settings" },
  { folder: 'common', holds: 'pure helpers: text (escaping, redaction, suggestions, formats) and YAML (the flag files\' subset, text-exact edits)' },
  { folder: 'constructs', holds: 'cdk8s constructs' },
  { folder: 'policies', holds: 'JSON Schemas and rules: pure functions returning findings' },
  { folder: 'synth', holds: 'model to objects to file texts' },
  { folder: 'lib', holds: 'the application: reading git and the disk, orchestrating the steps' },
  { folder: 'cli', holds: 'the flagops command' },
  { folder: 'infra', holds: 'the entry points of the infrastructure tools: the cdk8s app (the same as flagops synth), the Pulumi program and its policy pack' },
];

const SOURCE_FOLDERS = LAYERS.map((l) => l.folder);

function sources(folder: string): string[] {
  return readdirSync(join(REPO_ROOT, folder)).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(join(REPO_ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module of the project and the project modules it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of SOURCE_FOLDERS.flatMap(sources)) {
    const info = ts.preProcessFile(readFileSync(join(REPO_ROOT, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => normalize(join(dirname(file), spec)))
      .filter((target) => target.endsWith('.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

const layerOf = (path: string): number => LAYERS.findIndex((l) => path.startsWith(`${l.folder}/`));

describe('the module layers (docs/architecture.md)', () => {
  const graph = importGraph();

  it('put every module of the project in a layer', () => {
    expect([...graph.keys()].filter((f) => layerOf(f) < 0)).toEqual([]);
    expect(graph.size).toBeGreaterThan(80);
  });

  it('are the top-level folders: every folder holding TypeScript sources (tests, benches, scripts and the sample backend under examples/ aside) is one layer', () => {
    const aside = new Set(['test', 'bench', 'scripts', 'examples', 'node_modules', 'dist', 'docs', 'bin', '.git', '.github', '.ci']);
    const holding = readdirSync(REPO_ROOT, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !aside.has(d.name) && !d.name.startsWith('.'))
      .map((d) => d.name)
      .filter((name) => sources(name).length > 0)
      .sort();
    expect(holding).toEqual([...SOURCE_FOLDERS].sort());
  });

  it('import only downward or sideways', () => {
    const upward = [...graph].flatMap(([from, targets]) =>
      targets.filter((to) => layerOf(to) > layerOf(from)).map((to) => `${from} (${LAYERS[layerOf(from)]!.folder}) imports ${to} (${LAYERS[layerOf(to)]!.folder})`),
    );
    expect(upward).toEqual([]);
  });

  it('have no import cycles', () => {
    // Tarjan's strongly connected components: any component of more than one module is a cycle.
    let index = 0;
    const indexOf = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      indexOf.set(v, index);
      low.set(v, index++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!indexOf.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
      if (low.get(v) === indexOf.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
      }
    };
    for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
    expect(cycles).toEqual([]);
  });

  it('are what the model imports: nothing of the project but itself', () => {
    const model = [...graph].filter(([from]) => from.startsWith('model/'));
    expect(model.length).toBeGreaterThan(3);
    for (const [from, targets] of model) expect(targets.filter((t) => !t.startsWith('model/')), from).toEqual([]);
  });
});


describe('one way to do a thing', () => {
  it('commit SHAs are shortened by shortSha (common/text/sha.ts), never by hand', () => {
    const byHand = SOURCE_FOLDERS.flatMap(sources).filter((path) => /\.slice\(0, 12\)/.test(readFileSync(join(REPO_ROOT, path), 'utf8')));
    expect(byHand).toEqual([]);
  });
});
