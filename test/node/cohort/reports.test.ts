// A loaded cohort's reports (src/node/cohort/reports.ts): the manifest's where given, the others
// generated from a montage of axial slices by any TextGenerator (here the recording mock), cached
// (a second call sends nothing), a failed generation listed and left without a report; and the
// montage itself.
import { describe, expect, it } from 'vitest';
import { generateSyntheticCohort, InvalidArgumentError, MemoryReportCache } from '../../../src/index.js';
import { cohortReports, loadCohort, sliceMontage, writeSyntheticCohort } from '../../../src/node.js';
import { MockTextGenerator } from '../../../src/testing.js';
import { tempFolders } from '../../helpers/cohort.js';
import { expectArgumentError, expectArgumentRejection } from '../../helpers/errors.js';

const { next: folder } = tempFolders('reports');

async function cohortWithGaps() {
  const synthetic = generateSyntheticCohort({ patients: 6, layout: '2d', imageShape: [8, 8], slices: 3, seed: 3 });
  const reports = synthetic.patients.map((p, i) => (i % 2 === 0 ? null : `Side: ${p.truth.side}`));
  const written = await writeSyntheticCohort(synthetic, folder(), { reports });
  return { reports, cohort: await loadCohort({ manifest: written.manifest, image: written.imageOptions }) };
}

describe('cohortReports', () => {
  it('keeps the manifest\'s reports, generates the others once, and reads them from the cache the next time', async () => {
    const { reports, cohort } = await cohortWithGaps();
    const generator = new MockTextGenerator({ fields: { side: 'right' } });
    const cache = new MemoryReportCache();
    const first = await cohortReports(cohort, { generator, cache, images: { shape: [16, 16], slices: 4 } });
    expect(generator.calls).toHaveLength(3);
    expect(first.origins).toEqual(['generated', 'manifest', 'generated', 'manifest', 'generated', 'manifest']);
    expect(first.counts).toEqual({ manifest: 3, generated: 3, cache: 0, failed: 0, none: 0 });
    first.texts.forEach((t, i) => (reports[i] === null ? expect(t).toContain('Side: right') : expect(t).toBe(reports[i])));
    // one montage per patient: 4 slices of 16 × 16 in a 2 × 2 grid, grey
    const image = generator.calls[0]!.images[0] as { width: number; height: number; channels: number; data: Uint8Array };
    expect([image.width, image.height, image.channels]).toEqual([32, 32, 1]);
    expect(Math.max(...image.data)).toBe(255);
    const second = await cohortReports(cohort, { generator, cache, images: { shape: [16, 16], slices: 4 } });
    expect(generator.calls).toHaveLength(3);
    expect(second.counts).toEqual({ manifest: 3, generated: 0, cache: 3, failed: 0, none: 0 });
    expect(second.texts).toEqual(first.texts);
  });

  it('lists a failed generation and leaves that patient without a report; without a generator nothing is generated', async () => {
    const { cohort } = await cohortWithGaps();
    const generator = new MockTextGenerator({ responses: [new Error('server down')], fields: { side: 'left' } });
    const r = await cohortReports(cohort, { generator, concurrency: 1, images: { shape: [16, 16], slices: 2 } });
    expect(r.counts).toMatchObject({ generated: 2, failed: 1 });
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({ id: cohort.patients[0]!.id, row: cohort.patients[0]!.row });
    expect(r.failures[0]!.message).toContain('server down');
    expect(r.texts[0]).toBeNull();
    expect(r.origins[0]).toBe('failed');
    const none = await cohortReports(cohort);
    expect(none.counts).toEqual({ manifest: 3, generated: 0, cache: 0, failed: 0, none: 3 });
    expect(none.any).toBe(true);
    await expectArgumentRejection(cohortReports(cohort, { generator, images: { sequence: 'flair' } }), InvalidArgumentError, 'images.sequence');
  });
});

describe('sliceMontage', () => {
  it('tiles the slices of one sequence, inferior first, windowed to 0–255', () => {
    // [H 2, W 2, S 2 · Q 2]: channel s·Q + q
    const image = Float32Array.from({ length: 16 }, (_, v) => (v % 4 === 0 ? v : v % 4 === 2 ? 100 + v : -1));
    const m = sliceMontage(image, [2, 2, 4], 2, 0);
    expect([m.width, m.height]).toEqual([4, 2]);
    // sequence 0: slice 0 (channel 0) holds 0, 4, 8, 12 and slice 1 (channel 2) 102, 106, 110, 114;
    // window [P1, P99.5] = [0, 110]; the two slices side by side
    expect(Array.from(m.data as Uint8Array)).toEqual([0, 9, 236, 246, 19, 28, 255, 255]);
    expectArgumentError(() => sliceMontage(image, [2, 2, 3], 2, 0), InvalidArgumentError, 'shape');
    expectArgumentError(() => sliceMontage(image, [2, 2, 4], 2, 2), InvalidArgumentError, 'sequence');
  });
});
