// The NIfTI example's command line (examples/nifti/run.ts) end to end: a fresh encoder, a saved
// bundle, and the command itself. The library functions it uses are tested in
// test/node/cohort/nifti.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTriModalModel, InvalidArgumentError } from '../../src/index.js';
import { savePipeline } from '../../src/node.js';
import { main, parseArgs } from '../../examples/nifti/run.js';
import { writeNifti1 } from '../helpers/nifti-writer.js';
import { toyEncoders } from '../training/toy.js';
import { expectArgumentError, expectArgumentRejection } from '../helpers/errors.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-nifti-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));


// ---------------------------------------------------------------------------------------------
describe('the CLI (examples/nifti/run.ts)', () => {
  // wasm: the 3D encoder is about 15× faster than on the cpu backend
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  const headFile = (name: string, gzip: boolean) => {
    const [nx, ny, nz] = [40, 48, 36];
    const data = new Float32Array(nx * ny * nz);
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const q = ((i - 20) / 16) ** 2 + ((j - 24) / 20) ** 2 + ((k - 18) / 15) ** 2;
      data[i + nx * (j + ny * k)] = q <= 1 ? 80 + 40 * Math.sin(i / 3) * Math.cos(j / 4) + k : 0;
    }
    const bytes = writeNifti1({ dims: [nx, ny, nz], data, datatype: 'float32', pixdim: [4, 4, 4], sform: [[4, 0, 0, -80], [0, 4, 0, -96], [0, 0, 4, -72]] });
    const file = join(root, name);
    writeFileSync(file, gzip ? gzipSync(bytes) : bytes);
    return file;
  };

  it('parses its flags and rejects bad ones by name', () => {
    expect(parseArgs(['a.nii.gz', '--layout', '2d', '--png', 'o.png', '--seed', '3', '--backend', 'cpu'])).toEqual({ file: 'a.nii.gz', layout: '2d', png: 'o.png', seed: 3, backend: 'cpu' });
    expectArgumentError(() => parseArgs(['a.nii', '--backend', 'gpu']), InvalidArgumentError, '--backend');
    expectArgumentError(() => parseArgs(['a.nii', '--layout', '4d']), InvalidArgumentError, '--layout');
    expectArgumentError(() => parseArgs(['a.nii', '--bundle']), InvalidArgumentError, '--bundle');
    expectArgumentError(() => parseArgs(['--png', 'x.png']), InvalidArgumentError, 'file');
    expectArgumentError(() => parseArgs(['a.nii', '--what']), InvalidArgumentError, '--what');
  });

  it('runs a fresh encoder on 3D and 2D layouts, prints the header and writes the PNG, without leaking tensors', async () => {
    const file = headFile('head.nii.gz', true);
    const png = join(root, 'mid.png');
    const before = tf.memory().numTensors;
    const r3 = await main({ file, png }, () => {});
    expect(tf.memory().numTensors).toBe(before);
    expect(r3.lines[0]).toBe('head.nii.gz: NIfTI-1 (gzip)');
    expect(r3.lines[1]).toBe('  dims 40 × 48 × 36, voxel 4 × 4 × 4 mm, datatype float32 (code 16), scl_slope 1, scl_inter 0');
    expect(r3.lines[3]).toBe('  orientation RAS (i → R, j → A, k → S), obliquity 0.00°');
    expect(r3.inputShape).toEqual([16, 32, 32, 1]);
    expect(r3.tokensShape).toEqual([1, 256, 64]);
    expect(r3.pooledShape).toEqual([1, 64]);
    expect(Number.isFinite(r3.pooledMean)).toBe(true);
    expect(Array.from(readFileSync(png).subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    const r2 = await main({ file, layout: '2d', adc: file }, () => {});
    expect(r2.inputShape).toEqual([32, 32, 8]);
    expect(r2.tokensShape).toEqual([1, 64, 64]);
    // the second sequence sits in the odd channels and equals the first here
    for (let v = 0; v < r2.sample.length; v += 2) expect(r2.sample[v + 1]).toBe(r2.sample[v]);
  });

  it("with a bundle: runs the model's image branch and predicts from the image alone (text and clinical masked)", async () => {
    const { pre, tok } = toyEncoders();
    pre.fit([{ c: 1, noise: 0, age: 60 }, { c: -1, noise: 1, age: 70 }]);
    const model = createTriModalModel({
      image: { inputShape: [16, 16, 8], spatialDims: 2, widths: [8, 8], depths: [1, 1], strides: [1, 2] },
      text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1 },
      seed: 4,
    });
    const dir = join(root, 'bundle');
    await savePipeline({ model, preprocessor: pre, tokenizer: tok }, dir);
    const file = headFile('head.nii', false);
    const lines: string[] = [];
    const r = await main({ file, bundle: dir, layout: '3d' }, (l) => lines.push(l));
    expect(r.inputShape).toEqual([16, 16, 8]);
    expect(lines.some((l) => l === "note: --layout 3d ignored, the bundle's image input is 2d")).toBe(true);
    expect(lines.some((l) => /sequence 1 is missing and filled with zeros/.test(l))).toBe(true);
    const prediction = lines.find((l) => l.startsWith('prediction from the IMAGE ONLY'))!;
    expect(prediction).toMatch(/text and clinical passed as missing, masks all zeros; binary head\): P\(poor outcome\) = 0\.\d{4}$/);
    // the same prediction computed here from the printed sample with the in-memory model
    const image = tf.tensor(r.sample, [1, 16, 16, 8]);
    const [, ids, , values] = model.model.inputs.map((i) => i.shape[1] as number);
    const masked = { textIds: tf.zeros([1, ids!]), textMask: tf.zeros([1, ids!]), clinicalValues: tf.zeros([1, values!]), clinicalMask: tf.zeros([1, values!]) };
    const out = model.predict({ image, ...masked }, { auxiliary: true });
    expect(r.probability![0]).toBeCloseTo(out.probabilities.dataSync()[0]!, 5);
    expect(r.auxiliaryImageProbability![0]).toBeCloseTo(out.auxiliary!.image!.dataSync()[0]!, 5);
    const [tokens, pooled] = model.model.getLayer(model.groupLayerNames()['image']![0]!).apply(image) as tf.Tensor[];
    expect(r.tokensShape).toEqual(tokens!.shape);
    expect(r.pooledMean).toBeCloseTo(tf.mean(pooled!).dataSync()[0]!, 5);
    tf.dispose([image, ...Object.values(masked), out.probabilities, ...Object.values(out.auxiliary!), tokens!, pooled!]);
    model.dispose();
    await expectArgumentRejection(main({ file, bundle: dir, adc: file, sequences: 1 }, () => {}), InvalidArgumentError, '--adc');
  });

  it('runs as a command (node --import tsx) and fails cleanly on a bad file', () => {
    const file = headFile('cli.nii.gz', true);
    const ok = spawnSync(process.execPath, ['--import', 'tsx', 'examples/nifti/run.ts', file, '--layout', '2d'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^cli\.nii\.gz: NIfTI-1 \(gzip\)/);
    expect(ok.stdout).toMatch(/tokens \[1, 64, 64\], pooled \[1, 64\]/);
    const bad = join(root, 'bad.nii');
    writeFileSync(bad, 'not a nifti file at all');
    const ko = spawnSync(process.execPath, ['--import', 'tsx', 'examples/nifti/run.ts', bad], { encoding: 'utf8' });
    expect(ko.status).toBe(1);
    expect(ko.stderr).toMatch(/^error: This is not a single-file NIfTI/);
  });
});

