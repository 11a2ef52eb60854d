import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, maskedPooling, multiHeadAttention, SerializationError, transformerBlock } from '../../src/index.js';
import { fileSystem, loadModel, saveModel } from '../../src/node.js';
import { assertTensorsClose } from '../../src/testing.js';
import { expectArgumentRejection } from '../helpers/errors.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function buildModel(): tfl.LayersModel {
  const x = tfl.input({ shape: [6, 8] });
  const m = tfl.input({ shape: [6] });
  const h = transformerBlock({ numHeads: 2, seed: 1 }).apply([x, m]) as tfl.SymbolicTensor;
  const a = multiHeadAttention({ numHeads: 2, keyDim: 4, seed: 2 }).apply([h, x, m]) as tfl.SymbolicTensor;
  const pooled = maskedPooling().apply([a, m]) as tfl.SymbolicTensor;
  const y = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [x, m], outputs: y });
}

describe('vdafm/node saveModel / loadModel', () => {
  const x = tf.randomNormal([3, 6, 8], 0, 1, 'float32', 4);
  const m = tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]]);

  it('round-trips a model with vdafm layers through a folder', async () => {
    const model = buildModel();
    const before = model.predict([x, m]) as tf.Tensor;
    const dir = join(root, 'model');
    await saveModel(model, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['./weights.bin']);
    const loaded = await loadModel(dir);
    const after = loaded.predict([x, m]) as tf.Tensor;
    assertTensorsClose(after, before, { atol: 0 });
    expect(loaded.layers.map((l) => l.getClassName())).toContain('VdafmTransformerBlock');
    tf.dispose([before, after]);
  });

  it('works as an IOHandler with model.save and tfl.loadLayersModel', async () => {
    const model = buildModel();
    const dir = join(root, 'handler');
    await model.save(fileSystem(dir));
    const loaded = await tfl.loadLayersModel(fileSystem(dir));
    const a = model.predict([x, m]) as tf.Tensor;
    const b = loaded.predict([x, m]) as tf.Tensor;
    assertTensorsClose(b, a, { atol: 0 });
    tf.dispose([a, b]);
  });

  it('fails with a SerializationError on a missing folder, corrupt JSON or truncated weights', async () => {
    await expect(loadModel(join(root, 'nope'))).rejects.toSatisfy(
      (e: unknown) => SerializationError.isInstance(e) && /model\.json/.test((e as Error).message),
    );
    const dir = join(root, 'corrupt');
    await saveModel(buildModel(), dir);
    truncateSync(join(dir, 'weights.bin'), 10);
    await expect(loadModel(dir)).rejects.toSatisfy(
      (e: unknown) => SerializationError.isInstance(e) && /truncated/.test((e as Error).message),
    );
    writeFileSync(join(dir, 'model.json'), '{"modelTopology": ');
    await expect(loadModel(dir)).rejects.toSatisfy((e: unknown) => SerializationError.isInstance(e));
  });

  it('rejects bad arguments', async () => {
    await expectArgumentRejection(saveModel(buildModel(), ''), InvalidArgumentError, 'dir');
    await expectArgumentRejection(saveModel({} as never, join(root, 'x')), InvalidArgumentError, 'model');
  });
});
