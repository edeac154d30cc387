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

/** Bottom first. A module may import its own layer and the layers below it. */
const LAYERS: readonly { readonly name: string; readonly holds: (path: string) => boolean }[] = [
  { name: 'model', holds: (p) => p.startsWith('model/') },
  { name: 'environments', holds: (p) => p.startsWith('environments/') },
  { name: 'lib/text', holds: (p) => p.startsWith('lib/text/') },
  { name: 'lib/yaml', holds: (p) => p.startsWith('lib/yaml/') },
  { name: 'constructs', holds: (p) => p.startsWith('constructs/') },
  { name: 'policies', holds: (p) => p.startsWith('policies/') && !p.startsWith('policies/pulumi/') },
  { name: 'infra (synthesis)', holds: (p) => p.startsWith('infra/') && !p.startsWith('infra/pulumi/') && p !== 'infra/main.ts' },
  { name: 'lib', holds: (p) => p.startsWith('lib/') },
  { name: 'pulumi (program and policy pack)', holds: (p) => p.startsWith('infra/pulumi/') || p.startsWith('policies/pulumi/') },
  { name: 'cli', holds: (p) => p.startsWith('cli/') },
  { name: 'entry points', holds: (p) => p === 'infra/main.ts' },
];

const SOURCE_FOLDERS = ['model', 'environments', 'lib', 'constructs', 'policies', 'infra', 'cli'];

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

const layerOf = (path: string): number => LAYERS.findIndex((l) => l.holds(path));

describe('the module layers (docs/architecture.md)', () => {
  const graph = importGraph();

  it('put every module of the project in a layer', () => {
    expect([...graph.keys()].filter((f) => layerOf(f) < 0)).toEqual([]);
    expect(graph.size).toBeGreaterThan(80);
  });

  it('import only downward or sideways', () => {
    const upward = [...graph].flatMap(([from, targets]) =>
      targets.filter((to) => layerOf(to) > layerOf(from)).map((to) => `${from} (${LAYERS[layerOf(from)]!.name}) imports ${to} (${LAYERS[layerOf(to)]!.name})`),
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
  it('commit SHAs are shortened by shortSha (lib/text/sha.ts), never by hand', () => {
    const byHand = SOURCE_FOLDERS.flatMap(sources).filter((path) => /\.slice\(0, 12\)/.test(readFileSync(join(REPO_ROOT, path), 'utf8')));
    expect(byHand).toEqual([]);
  });
});
