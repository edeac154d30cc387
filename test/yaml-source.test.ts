/**
 * The flag files are a plain subset of YAML: no anchors, aliases, merge keys, tags or directives,
 * numbers as plain decimal integers, nesting and size bounded. Whatever the bytes, parsing gives
 * findings at `file:line:col`, never an exception.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentSettings } from '../model/environments.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { overlay, validate } from '../lib/workspace/workspace.ts';
import { YamlSource } from '../common/yaml/yaml-source.ts';
import type { Finding } from '../model/findings.ts';
import { NOW, REPO_ROOT } from './helpers.ts';

const CATALOG = 'environments/catalog.yaml';
const PROD = 'environments/production/flags.yaml';
const TELE = 'telehealth_appointments_enabled:';

let settings: EnvironmentSettings[];
beforeAll(async () => {
  settings = await loadEnvironmentSettings(REPO_ROOT);
});

const disk = diskReader(REPO_ROOT);
const sample = (file: string): string => disk.read(file)!;
const fixture = (name: string): string => readFileSync(join(REPO_ROOT, 'test', 'fixtures', name), 'utf8');

/** The sample with one edit: replaces the first `from` after `after`. */
function edited(file: string, from: string, to: string, after = ''): string {
  const text = sample(file);
  const at = text.indexOf(from, text.indexOf(after));
  if (at < 0) throw new Error(`'${from}' not in ${file}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Every finding of the whole pipeline (parse, state rules, synth, manifest policies) with `texts` in place of the sample's files. */
async function check(texts: Record<string, string>): Promise<readonly Finding[]> {
  const result = await validate({ root: REPO_ROOT, settings }, { reader: overlay(disk, new Map(Object.entries(texts))), now: new Date(NOW) });
  return result.findings;
}

const line = (f: Finding) => `${f.file}:${f.line}:${f.col}: ${f.severity}: ${f.message} [${f.rule}]`;

/** 1-based `line:col` of the first `needle` after `after` in `text`. */
function position(text: string, needle: string, after = ''): string {
  const offset = text.indexOf(needle, text.indexOf(after));
  if (offset < 0) throw new Error(`'${needle}' not in text`);
  const lines = text.slice(0, offset).split('\n');
  return `${lines.length}:${lines.at(-1)!.length + 1}`;
}

describe('the flag files are plain YAML: no anchors, aliases, merge keys, tags or directives', () => {
  it('reports an anchor and its alias at their places, so one entry cannot silently share another\'s approver', async () => {
    // GIVEN production's flags.yaml where e_prescribing_enabled merges telehealth's entry and aliases its approver
    const text = fixture('shared-approver.yaml');
    // WHEN checking
    const findings = (await check({ [PROD]: text })).filter((f) => f.file === PROD);
    // THEN each construct is an error on its own line, under a stable rule id
    const rules = findings.map((f) => `${f.line}:${f.col}:${f.rule}`);
    expect(rules).toContain(`${position(text, '&entry')}:yaml-anchor`);
    expect(rules).toContain(`${position(text, '&approver')}:yaml-anchor`);
    expect(rules).toContain(`${position(text, '*entry')}:yaml-anchor`);
    expect(rules).toContain(`${position(text, '*approver')}:yaml-anchor`);
    expect(rules).toContain(`${position(text, '<<')}:yaml-merge-key`);
    expect(findings.find((f) => f.rule === 'yaml-anchor' && f.message.includes('*approver'))?.message).toMatch(/alias '\*approver'/);
    expect(findings.every((f) => f.severity === 'error')).toBe(true);
  });

  it('passes the same entries written out in full', async () => {
    const findings = await check({ [PROD]: sample(PROD) });
    expect(findings.filter((f) => f.rule.startsWith('yaml-')).map(line)).toEqual([]);
  });

  it('reports an explicit tag, naming it', async () => {
    const text = edited(PROD, 'rollout: 25', 'rollout: !!int "25"', TELE);
    const findings = (await check({ [PROD]: text })).filter((f) => f.rule === 'yaml-tag');
    expect(findings.map(line)).toEqual([
      `${PROD}:${position(text, '!!int')}: error: tag '!!int': flag files use plain values, without tags [yaml-tag]`,
    ]);
  });

  it('reports %YAML and %TAG directives (YAML 1.1 reads 031 as 25 and yes as true)', async () => {
    const text = `%YAML 1.1\n%TAG !e! tag:example.com,2000:\n---\n${sample(CATALOG)}`;
    const findings = (await check({ [CATALOG]: text })).filter((f) => f.rule === 'yaml-directive');
    expect(findings.map((f) => `${f.line}:${f.col}`)).toEqual(['1:1', '2:1']);
    expect(findings[0]!.message).toContain("'%YAML 1.1'");
  });

  it('reports an alias bomb (billion laughs) without expanding it', async () => {
    // (expanded, it is 9^9 strings: no run would end within the test's timeout, or fit in memory)
    const findings = await check({ [CATALOG]: fixture('alias-bomb.yaml') });
    const anchors = findings.filter((f) => f.file === CATALOG && f.rule === 'yaml-anchor');
    expect(anchors.length).toBeGreaterThan(9);
    expect(anchors[0]).toMatchObject({ line: 2, col: 4 });
  });
});

describe('numbers in the flag files are plain decimal integers', () => {
  const cases: readonly [string, RegExp][] = [
    ['0x19', /'0x19' is a hexadecimal number \(YAML reads it as 25\)/],
    ['0o31', /'0o31' is an octal number \(YAML reads it as 25\)/],
    ['2.5e1', /'2\.5e1' has an exponent \(YAML reads it as 25\)/],
    ['1e2', /'1e2' has an exponent \(YAML reads it as 100\)/],
    ['25.0', /'25\.0' has a decimal point \(YAML reads it as 25\)/],
    ['+25', /'\+25' has a sign \(YAML reads it as 25\)/],
    ['025', /'025' has a leading zero/],
    ['.inf', /'\.inf' is not a finite number/],
    ['.nan', /'\.nan' is not a number/],
  ];
  for (const [written, message] of cases) {
    it(`reports rollout: ${written} at the value, naming it`, async () => {
      const text = edited(PROD, 'rollout: 25', `rollout: ${written}`, TELE);
      const findings = (await check({ [PROD]: text })).filter((f) => f.rule === 'yaml-number');
      expect(findings).toHaveLength(1);
      expect(`${findings[0]!.line}:${findings[0]!.col}`).toBe(position(text, written, TELE));
      expect(findings[0]!.message).toMatch(message);
      expect(findings[0]!.message).toContain("flag 'telehealth_appointments_enabled' field 'rollout'");
    });
  }

  it('accepts 0, 5 and 100 written plainly', async () => {
    const text = edited(PROD, 'rollout: 25', 'rollout: 0', TELE);
    expect((await check({ [PROD]: text })).filter((f) => f.rule === 'yaml-number')).toEqual([]);
  });
});

describe('hostile bytes are findings, never exceptions', () => {
  it('reports nesting deeper than the limit at the place it goes too deep (100,000 [)', async () => {
    const text = `environment: production\nflags: ${'['.repeat(100_000)}\n`;
    const findings = (await check({ [PROD]: text })).filter((f) => f.file === PROD);
    expect(findings.map((f) => f.rule)).toContain('yaml-depth');
    const deep = findings.find((f) => f.rule === 'yaml-depth')!;
    expect(deep.line).toBe(2);
    expect(deep.message).toMatch(/nested more than 64 levels deep/);
  });

  it('reports block sequences nested 10,000 deep', async () => {
    const findings = await check({ [CATALOG]: `flags:\n  ${'- '.repeat(10_000)}x\n` });
    expect(findings.filter((f) => f.file === CATALOG).map((f) => f.rule)).toContain('yaml-depth');
  });

  it('reports millions of values (under the size limit) without building their tree', async () => {
    // 15 MB of flow items, and 15 MB of block items: parsed, each would take several GB of memory
    for (const text of [`flags: [${'a,'.repeat(7_500_000)}a]\n`, `flags:\n${'- a\n'.repeat(4_000_000)}`]) {
      const findings = (await check({ [CATALOG]: text })).filter((f) => f.file === CATALOG);
      expect(findings.map((f) => f.rule)).toEqual(['yaml-size']);
      expect(findings[0]!.message).toMatch(/more than about 250,000 values by here; it is not read/);
    }
  });

  it('accepts a byte-order mark at the start of a flag file', async () => {
    const findings = await check({ [PROD]: `\uFEFF${sample(PROD)}` });
    expect(findings.filter((f) => f.file === PROD && f.severity === 'error').map(line)).toEqual([]);
  });

  it('reports binary junk at a position', async () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)).toString('latin1');
    const findings = (await check({ [PROD]: junk })).filter((f) => f.file === PROD);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.line >= 1 && f.col >= 1)).toBe(true);
  });

  it('gives the same source positions to a parsed manifest as before (no flag-file restrictions on manifests)', () => {
    const source = new YamlSource('dist/x.yaml', 'a: &x 1.5\nb: *x\n');
    expect(source.ok).toBe(true);
    expect(source.locate(['b'])).toEqual({ file: 'dist/x.yaml', line: 2, col: 4 });
  });
});
