/**
 * common/text/memo.ts: results of a pure function of a string kept up to a bound, so that a
 * process synthesizing the same project many times does not grow without end.
 */
import { describe, expect, it } from 'vitest';
import { Memo } from '../common/text/memo.ts';

describe('Memo', () => {
  it('computes a key once while it is kept', () => {
    const calls: string[] = [];
    const memo = new Memo<string>(100);
    const upper = (k: string) => (calls.push(k), k.toUpperCase());
    expect([memo.get('a', upper), memo.get('b', upper), memo.get('a', upper)]).toEqual(['A', 'B', 'A']);
    expect(calls).toEqual(['a', 'b']);
  });

  it('keeps a result that is undefined as well', () => {
    let calls = 0;
    const memo = new Memo<undefined>(10);
    memo.get('x', () => void calls++);
    memo.get('x', () => void calls++);
    expect(calls).toBe(1);
  });

  it('lets go of everything it kept when the next entry would pass the bound, and never keeps an entry above a quarter of it', () => {
    const calls: string[] = [];
    const memo = new Memo<string>(40, (key, value) => key.length + value.length);
    const same = (k: string) => (calls.push(k), k);
    for (const k of ['aaaaa', 'bbbbb', 'ccccc', 'ddddd', 'aaaaa']) memo.get(k, same); // 10 each: a..d fill 40, a still kept
    expect(calls).toEqual(['aaaaa', 'bbbbb', 'ccccc', 'ddddd']);
    memo.get('eeeee', same); // would make 50: the four are let go of
    memo.get('aaaaa', same);
    expect(calls.slice(4)).toEqual(['eeeee', 'aaaaa']);
    const big = 'x'.repeat(6); // 12 > 40 / 4
    memo.get(big, same);
    memo.get(big, same);
    expect(calls.filter((k) => k === big)).toHaveLength(2);
  });
});
