// Shared by the cohort-loading tests: fresh temporary folders (removed after the file's tests)
// and an array comparison that checks the lengths first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { maxAbsDiff } from '../../src/testing.js';

/** A temporary root for this test file; `next()` gives a new folder path under it (not created). */
export function tempFolders(prefix: string): { root: string; next: () => string } {
  const root = mkdtempSync(join(tmpdir(), `vdafm-${prefix}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let count = 0;
  return { root, next: () => join(root, `${count++}`) };
}

/** Largest |a − b|, after checking that the lengths agree. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  return maxAbsDiff(a, b);
}
