import { describe, expect, it } from 'vitest';
import { applyOp, compilePattern, planBatch } from '../../src-renderer/lib/batch-edit.ts';

const ITEMS = [
  { id: 'a.jpg', captions: ['A dog on the grass', 'a brown dog runs'] },
  { id: 'b.jpg', captions: ['a cat on a sofa'] },
  { id: 'c.jpg', captions: [] },
  { id: 'd.jpg', captions: ['dogs and a doghouse', 'blurry photo'] },
];

describe('batch edits', () => {
  it('replaces plain text everywhere, case-insensitively by default, and counts the captions it changes', () => {
    const plan = planBatch(ITEMS, { kind: 'replace', find: 'dog', replace: 'puppy', regex: false, caseSensitive: false });
    expect(plan.changes.map((c) => [c.id, c.after])).toEqual([
      ['a.jpg', ['A puppy on the grass', 'a brown puppy runs']],
      ['d.jpg', ['puppys and a puppyhouse', 'blurry photo']],
    ]);
    expect(plan.captionsChanged).toBe(3);
    expect(plan.captionsDeleted).toBe(0);
    expect(plan.changes[0]!.before).toEqual(ITEMS[0]!.captions);
  });

  it('treats a plain find and replacement literally, and a regex with its groups and word boundaries', () => {
    expect(applyOp(['cost is $5 (approx.)'], { kind: 'replace', find: '(approx.)', replace: '$1', regex: false, caseSensitive: true })).toEqual(['cost is $5 $1']);
    expect(applyOp(['dogs and a dog'], { kind: 'replace', find: '\\bdog\\b', replace: 'cat', regex: true, caseSensitive: true })).toEqual(['dogs and a cat']);
    expect(applyOp(['a red car'], { kind: 'replace', find: '(red|blue) (car)', replace: '$2 in $1', regex: true, caseSensitive: true })).toEqual(['a car in red']);
    expect(applyOp(['A Dog'], { kind: 'replace', find: 'dog', replace: 'cat', regex: false, caseSensitive: true })).toEqual(['A Dog']);
  });

  it('tidies the spaces a removal leaves and drops a caption left empty', () => {
    const plan = planBatch([{ id: 'x', captions: ['a very big dog', 'very'] }], { kind: 'replace', find: 'very', replace: '', regex: false, caseSensitive: false });
    expect(plan.changes[0]!.after).toEqual(['a big dog']);
    expect([plan.captionsChanged, plan.captionsDeleted]).toEqual([1, 1]);
  });

  it('adds a prefix or a suffix to every caption', () => {
    expect(applyOp(['a dog', 'a cat'], { kind: 'prefix', text: 'photo:' })).toEqual(['photo: a dog', 'photo: a cat']);
    expect(applyOp(['a dog'], { kind: 'suffix', text: ', high quality' })).toEqual(['a dog, high quality']);
    expect(applyOp(['a dog'], { kind: 'suffix', text: 'at night' })).toEqual(['a dog at night']);
    expect(planBatch(ITEMS, { kind: 'prefix', text: 'x' }).changes.map((c) => c.id)).toEqual(['a.jpg', 'b.jpg', 'd.jpg']);
  });

  it('deletes the captions that match a pattern', () => {
    const plan = planBatch(ITEMS, { kind: 'delete', find: '^blurry', regex: true, caseSensitive: false });
    expect(plan.changes.map((c) => [c.id, c.after])).toEqual([['d.jpg', ['dogs and a doghouse']]]);
    expect([plan.captionsChanged, plan.captionsDeleted]).toEqual([0, 1]);
  });

  it('says in one line why a pattern cannot be used', () => {
    expect(compilePattern('', false, false)).toBe('type the text to find');
    expect(compilePattern('(', true, false)).toMatch(/^not a valid regular expression/);
    expect(compilePattern('x*', true, false)).toMatch(/matches empty text/);
    expect(() => applyOp(['a'], { kind: 'delete', find: '[', regex: true, caseSensitive: false })).toThrow(/not a valid regular expression/);
  });
});
