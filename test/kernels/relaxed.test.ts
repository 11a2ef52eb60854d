// The two SIMD builds of vdafm's GEMM (src/kernels/module.ts): relaxed SIMD is detected at run
// time and chosen where the engine validates it; simd128 can be forced (option, VDAFM_SIMD); the
// builds give the same values and gradients up to the rounding of a fused multiply-add, and both
// agree with tfjs's own matMul and autodiff on the cpu backend. This file turns relaxed SIMD on
// in its own process (Node 20 ships it behind --experimental-wasm-relaxed-simd), so it runs both
// builds side by side in either vitest project.
import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { fastKernelsBuild, relaxedSimdSupported, setFastKernelsEnabled } from '../../src/kernels/module.js';
import { fastMatMul } from '../../src/ops/matmul.js';
import { gelu, layerNorm } from '../../src/ops/dense.js';
import { assertTensorsClose } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';

setFlagsFromString('--experimental-wasm-relaxed-simd');

function uniform(n: number, seed: number): Float32Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) / 4294967296) * 2 - 1;
  });
}

/** Value and gradients of loss = Σ fastMatMul(a, b[, bias])·dy on the active backend, as arrays. */
function valueAndGrads(aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean, withBias: boolean): Float32Array[] {
  return tf.tidy(() => {
    const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
    const a = tf.tensor(uniform(size(aShape), 1), aShape as [number, number]) as tf.Tensor2D;
    const b = tf.tensor(uniform(size(bShape), 2), bShape as [number, number]) as tf.Tensor2D;
    const n = transposeB ? bShape[bShape.length - 2]! : bShape[bShape.length - 1]!;
    const bias = tf.tensor1d(uniform(n, 3));
    const product = (x: tf.Tensor, y: tf.Tensor, z?: tf.Tensor) =>
      fastMatMul(x as tf.Tensor2D, y as tf.Tensor2D, z ? { transposeA, transposeB, bias: z as tf.Tensor1D } : { transposeA, transposeB });
    const y = withBias ? product(a, b, bias) : product(a, b);
    const dy = tf.tensor(uniform(y.size, 4), y.shape);
    const f = (...x: tf.Tensor[]) => tf.sum(tf.mul(product(x[0]!, x[1]!, x[2]), dy));
    const grads = tf.grads(f)(withBias ? [a, b, bias] : [a, b]);
    return snapshot([y, ...grads]);
  });
}

const cases: Array<[string, number[], number[], boolean, boolean, boolean]> = [
  ['attention FFN shape [196, 256]·[256, 512] + bias', [196, 256], [256, 512], false, false, true],
  ['transposed operands, K across cache blocks', [300, 70], [130, 300], true, true, false],
  ['batched (rank 3), few rows', [6, 3, 40], [6, 40, 33], false, false, false],
];

afterEach(() => setFastKernelsEnabled(true));

describe('relaxed-SIMD build of the GEMM', () => {
  it('is detected and chosen on wasm; relaxedSimd: false forces simd128', async () => {
    expect(relaxedSimdSupported()).toBe(true);
    await onBackend('wasm', () => {
      expect(fastKernelsBuild()).toBe('relaxed');
      setFastKernelsEnabled(true, { relaxedSimd: false });
      expect(fastKernelsBuild()).toBe('simd128');
      setFastKernelsEnabled(false);
      expect(fastKernelsBuild()).toBe('off');
    });
    expect(fastKernelsBuild()).toBe('off'); // cpu is active here
  });

  it.each(cases)('%s: values and gradients equal simd128 up to FMA rounding, and cpu autodiff', async (_, aShape, bShape, tA, tB, withBias) => {
    const cpu = valueAndGrads(aShape, bShape, tA, tB, withBias);
    const relaxed = await onBackend('wasm', () => {
      expect(fastKernelsBuild()).toBe('relaxed');
      return valueAndGrads(aShape, bShape, tA, tB, withBias);
    });
    setFastKernelsEnabled(true, { relaxedSimd: false });
    const plain = await onBackend('wasm', () => {
      expect(fastKernelsBuild()).toBe('simd128');
      return valueAndGrads(aShape, bShape, tA, tB, withBias);
    });
    const k = tA ? aShape[aShape.length - 2]! : aShape[aShape.length - 1]!;
    // one rounding per multiply-add less: differences of a few ulps of the partial sums, ~√k growth
    const tol = { atol: 2e-6 * Math.sqrt(k) * 8, rtol: 1e-5 };
    const cpuTol = { atol: 2e-5 * Math.sqrt(k), rtol: 1e-4 }; // cpu sums in float32 in another order
    relaxed.forEach((r, i) => {
      const label = ['value', 'da', 'db', 'dbias'][i];
      assertTensorsClose(r, plain[i]!, tol, `relaxed vs simd128 ${label}`);
      assertTensorsClose(r, cpu[i]!, cpuTol, `relaxed vs cpu ${label}`);
      assertTensorsClose(plain[i]!, cpu[i]!, cpuTol, `simd128 vs cpu ${label}`);
    });
    // the builds really differ somewhere (else the relaxed module would not be in use)
    expect(relaxed.some((r, i) => r.some((v, j) => v !== plain[i]![j]))).toBe(true);
  });

  it('leaves the fused kernels (GELU, layer norm) bit for bit as in simd128', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(uniform(64 * 96, 9), [64, 96]);
        const gamma = tf.tensor1d(uniform(96, 10));
        const beta = tf.tensor1d(uniform(96, 11));
        return snapshot([gelu(x), layerNorm(x, gamma, beta, 1e-5)]);
      });
    const relaxed = await onBackend('wasm', run);
    setFastKernelsEnabled(true, { relaxedSimd: false });
    const plain = await onBackend('wasm', run);
    relaxed.forEach((r, i) => expect(Array.from(r)).toEqual(Array.from(plain[i]!)));
  });

  it('VDAFM_SIMD=simd128 forces the simd128 build (read by a fresh process)', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = [
      "import { setFlagsFromString } from 'node:v8';",
      "setFlagsFromString('--experimental-wasm-relaxed-simd');",
      "const tf = await import('@tensorflow/tfjs-core');",
      "await import('@tensorflow/tfjs-backend-wasm');",
      "const m = await import('./src/kernels/module.ts');",
      "await tf.setBackend('wasm');",
      'console.log(JSON.stringify([m.relaxedSimdSupported(), m.fastKernelsBuild()]));',
    ].join('\n');
    const run = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as unknown;
    };
    expect(run({ VDAFM_SIMD: 'simd128' })).toEqual([true, 'simd128']);
    expect(run({ VDAFM_SIMD: '' })).toEqual([true, 'relaxed']);
  });
});
