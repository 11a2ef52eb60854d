// The synthetic cohort written to disk (src/node/cohort/write.ts) loads back as the in-memory
// cohort: identical images (3D), images to float rounding (2D), the same rows, labels, reports
// and splits.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSyntheticCohort } from '../../../src/index.js';
import { loadCohort, writeSyntheticCohort } from '../../../src/node.js';
import { maxDiff, tempFolders } from '../../helpers/cohort.js';

const { next: folder } = tempFolders('write');


describe('round trip: the written synthetic cohort loads back as the in-memory cohort', () => {
  it('3D, CSV, ordinal mRS label, reports in a column, a fixed split: identical images, rows, labels', async () => {
    const cohort = generateSyntheticCohort({ patients: 6, imageShape: [4, 8, 8], seed: 11, missingRate: 0.2 });
    const reports = cohort.patients.map((p, i) => (i === 2 ? null : `Acute lesion: ${p.truth.acuteLesion}, "quoted", two\nlines`));
    const split = cohort.patients.map((_, i) => (['train', 'train', 'val', 'test', 'train', null] as const)[i]!);
    const written = await writeSyntheticCohort(cohort, folder(), { reports, split });
    const loaded = await loadCohort({ manifest: written.manifest, image: written.imageOptions });
    expect(loaded.excluded).toEqual([]);
    expect(loaded.imageShape).toEqual(cohort.sampleShape);
    expect(loaded.patients.map((p) => p.id)).toEqual(cohort.patients.map((p) => p.id));
    // rows are the lines where records start: each report but patient 2's spans two lines
    expect(loaded.patients.map((p) => p.row)).toEqual([2, 4, 6, 7, 9, 11]);
    const size = cohort.geometry.size;
    loaded.patients.forEach((p, i) => {
      expect(maxDiff(p.image!, cohort.images.subarray(i * size, (i + 1) * size))).toBe(0);
      expect(p.clinical).toEqual(cohort.rows[i]);
      expect(p.label).toBe(cohort.poor[i]);
      expect(p.labelValue).toBe(cohort.mrs[i]);
      expect(p.labelIndex).toBe(cohort.mrs[i]);
      expect(p.report).toBe(reports[i]);
      expect(p.split).toBe(split[i]);
      expect(p.warnings).toEqual([]);
    });
    expect(loaded.columns).toEqual(cohort.schema.map((c) => ({ name: c.name, type: c.type, ...(c.categories ? { categories: [...c.categories] } : {}) })));
    expect(loaded.sequences).toEqual(['dwi', 'adc']);
  });

  it('2D layout, JSON Lines, binary label, reports in files: images to float tolerance', async () => {
    const cohort = generateSyntheticCohort({ patients: 5, layout: '2d', imageShape: [8, 8], slices: 3, seed: 4 });
    const reports = cohort.patients.map((p) => `Side: ${p.truth.side}`);
    const written = await writeSyntheticCohort(cohort, folder(), { format: 'jsonl', label: 'poor', reports, reportMode: 'file', gzip: false });
    expect(written.manifest.endsWith('manifest.jsonl')).toBe(true);
    const loaded = await loadCohort({ manifest: written.manifest, image: written.imageOptions });
    expect(loaded.imageShape).toEqual([8, 8, 6]);
    const size = cohort.geometry.size;
    loaded.patients.forEach((p, i) => {
      expect(maxDiff(p.image!, cohort.images.subarray(i * size, (i + 1) * size))).toBeLessThan(1e-4);
      expect(p.clinical).toEqual(cohort.rows[i]);
      expect(p.label).toBe(cohort.poor[i]);
      expect(p.report).toBe(reports[i]);
      expect(p.reportFile).toBe(join(written.dir, 'reports', `${p.id}.txt`));
    });
  });

  it('the default preprocessing (robust z-score, foreground field of view) keeps the sequences on one grid', async () => {
    const cohort = generateSyntheticCohort({ patients: 3, imageShape: [4, 16, 16], seed: 2 });
    const written = await writeSyntheticCohort(cohort, folder());
    const loaded = await loadCohort({ manifest: written.manifest, image: { shape: [4, 16, 16] } });
    for (const p of loaded.patients) {
      const img = p.image!;
      expect(img.every(Number.isFinite)).toBe(true);
      // per channel: z-scored foreground, background at the clipped minimum
      for (const q of [0, 1]) {
        const ch = img.filter((_, k) => k % 2 === q);
        expect(Math.min(...ch)).toBeLessThan(0);
        expect(Math.max(...ch)).toBeGreaterThan(0);
      }
    }
  });
});
