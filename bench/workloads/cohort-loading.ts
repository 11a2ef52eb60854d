/**
 * Workload "cohort loading": patients per second of `loadCohort` (read + validate + preprocess
 * NIfTI volumes onto the model's grid) with the on-disk cache cold and warm, and of streaming
 * one epoch of `cohortBatches` from the warm cache.
 *
 * The cohort is the synthetic one written out by `writeSyntheticCohort` at a clinical DWI
 * resolution: per patient two `.nii.gz` sequences (DWI, ADC) of 128 × 128 × 32 voxels (1.56 mm
 * in-plane, 6.25 mm slices, float32), preprocessed to the default 3D grid [16, 32, 32]
 * (robust z-score, 200 mm field of view centred on the foreground).
 *
 * Rows (the "forward" column is milliseconds per patient; the notes give patients/s):
 * - `cold`: an empty cache folder per repetition: read, hash, gunzip, parse, check, reorient,
 *   intensity statistics, resample, normalise, write the cache entry;
 * - `warm`: the same call on a filled cache: read and hash the files, read the entries;
 * - `no-cache`: the cold path without writing a cache (not in --quick);
 * - `stream-warm`: one epoch of `cohortBatches` (batch 8, images only) on a cohort loaded
 *   with `keepImages: false`: entries read back and batched into tensors.
 *
 * @packageDocumentation
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { generateSyntheticCohort } from '../../src/index.js';
import { cohortBatches, loadCohort, writeSyntheticCohort } from '../../src/node.js';
import { summarize, timeIt } from '../lib/stats.js';
import { maxRssBytes, useBackend } from '../lib/tfjs.js';
import type { BenchContext, Check, Row, Stats, Workload, WorkloadResult } from '../lib/types.js';

/** Per-patient milliseconds from whole-cohort timings. */
const perPatient = (s: Stats, n: number): Stats => summarize(s.samples.map((x) => x / n), s.warmup);
const rate = (s: Stats) => 1000 / s.median;

const cohortLoading: Workload = {
  name: 'cohort-loading',
  title: 'Cohort loading: NIfTI → preprocessed images, patients/s with the cache cold and warm',
  order: 90,
  async run(ctx: BenchContext): Promise<WorkloadResult> {
    await useBackend('cpu');
    const patients = ctx.quick ? 4 : 16;
    const shape = ctx.quick ? [16, 64, 64] : [32, 128, 128];
    const root = mkdtempSync(join(tmpdir(), 'vdafm-bench-cohort-'));
    try {
      ctx.log(`  writing ${patients} patients × 2 sequences of ${[...shape].reverse().join('×')} voxels`);
      const written = await writeSyntheticCohort(generateSyntheticCohort({ patients, imageShape: shape, seed: 1 }), join(root, 'cohort'));
      const plan = { warmup: 1, reps: ctx.quick ? 2 : 5, maxSeconds: ctx.quick ? 5 : 60 };
      const row = (id: string, label: string, forward: Stats): Row => ({ id, label, backend: 'node', threads: 1, kind: 'library', forward, train: null, predict: null, status: 'ok', maxRssBytes: maxRssBytes() });
      let fresh = 0;
      const cold = await timeIt(async () => {
        const cache = join(root, `cold-${fresh++}`);
        await loadCohort({ manifest: written.manifest, cache });
        rmSync(cache, { recursive: true, force: true });
      }, plan);
      const warmCache = join(root, 'warm');
      await loadCohort({ manifest: written.manifest, cache: warmCache });
      const warm = await timeIt(() => loadCohort({ manifest: written.manifest, cache: warmCache }), { ...plan, reps: plan.reps * 2 });
      const noCache = ctx.quick ? null : await timeIt(() => loadCohort({ manifest: written.manifest }), plan);
      const streamed = await loadCohort({ manifest: written.manifest, cache: warmCache, keepImages: false });
      const epoch = cohortBatches(streamed, { batchSize: 8 });
      const stream = await timeIt(async () => {
        for await (const batch of epoch()) await batch.image!.data();
      }, { ...plan, reps: plan.reps * 2 });

      const rows = [
        row('cold', 'loadCohort, empty cache (read, check, preprocess, write entry)', perPatient(cold, patients)),
        row('warm', 'loadCohort, filled cache (read + hash files, read entries)', perPatient(warm, patients)),
        ...(noCache ? [row('no-cache', 'loadCohort without a cache', perPatient(noCache, patients))] : []),
        row('stream-warm', 'one epoch of cohortBatches (batch 8) from the warm cache', perPatient(stream, patients)),
      ];
      const speedup = cold.median / warm.median;
      const checks: Check[] = [{ label: 'warm cache loads faster than cold', value: `${speedup.toFixed(1)}×`, target: '≥ 5×', met: speedup >= 5 }];
      const voxels = shape.reduce((a, b) => a * b, 1);
      const notes = [
        `cold: ${rate(perPatient(cold, patients)).toFixed(1)} patients/s; warm: ${rate(perPatient(warm, patients)).toFixed(1)} patients/s` +
          `${noCache ? `; no cache: ${rate(perPatient(noCache, patients)).toFixed(1)} patients/s` : ''}; streaming an epoch from the warm cache: ${rate(perPatient(stream, patients)).toFixed(1)} patients/s.`,
        `Per patient: 2 × ${(voxels / 1e6).toFixed(2)} M voxels (${[...shape].reverse().join(' × ')}, float32 .nii.gz) → [16, 32, 32, 2] (${((16 * 32 * 32 * 2 * 4) / 1024).toFixed(0)} KiB cache entry); ${patients} patients, timings per patient.`,
        `tf.memory().numTensors after streaming: ${tf.memory().numTensors} (batches are disposed by the iterator).`,
      ];
      return {
        name: 'cohort-loading',
        title: this.title,
        description:
          'writeSyntheticCohort → loadCohort (default image options: 3D [16, 32, 32], robust z-score, cohort field of view; concurrency 2) on Node, single process; ' +
          'cold = empty cache per repetition, warm = filled cache, stream-warm = cohortBatches over a keepImages: false cohort. "forward" = ms per patient.',
        rows,
        ratios: [],
        profiles: [],
        notes,
        checks,
      };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

/** The cohort-loading workload. */
export const workload: Workload = cohortLoading;
