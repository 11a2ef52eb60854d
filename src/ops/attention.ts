/**
 * The scaled dot-product attention core as two tape nodes with closed-form gradients: the
 * weights `softmax(Q·Kᵀ/√d + mask)` and the context `dropout(P)·V`, heads folded into the batch
 * axis. The layers (src/layers/attention.ts) add the projections around them.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { product } from './matmul.js';

type Grad = Parameters<typeof tf.customGrad>[0];

/** `[B, N, h·d]` → `[B·h, N, d]`. */
function splitHeads(x: tf.Tensor, n: number, h: number, d: number): tf.Tensor3D {
  return tf.reshape(tf.transpose(tf.reshape(x, [-1, n, h, d]), [0, 2, 1, 3]), [-1, n, d]) as tf.Tensor3D;
}

/** `[B·h, N, d]` → `[B, N, h·d]`. */
function mergeHeads(x: tf.Tensor, n: number, h: number, d: number): tf.Tensor3D {
  return tf.reshape(tf.transpose(tf.reshape(x, [-1, h, n, d]), [0, 2, 1, 3]), [-1, n, h * d]) as tf.Tensor3D;
}

/**
 * Attention weights `P = softmax(Q·Kᵀ/√d + maskBias)` `[B, h, nq, nk]` from the projected
 * queries `[B, nq, h·d]` and keys `[B, nk, h·d]`, as ONE tape node (head split, scaling, mask,
 * softmax) with the closed-form gradient `dS = P ⊙ (dP − Σ_k dP ⊙ P)`, `dQ = dS·K/√d`,
 * `dK = dSᵀ·Q/√d`. Rows whose keys are all masked get zero weights (and zero gradients).
 * The key mask `[B, nk]` is a constant (no gradient).
 * @internal
 */
export function attentionWeights(qp: tf.Tensor, kp: tf.Tensor, keyMask: tf.Tensor | null, h: number, d: number, nq: number, nk: number): tf.Tensor4D {
  const scale = 1 / Math.sqrt(d);
  const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qq, kk, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const q = tf.mul(splitHeads(qq, nq, h, d), scale) as tf.Tensor3D; // [B·h, nq, d], scaled
    const k = splitHeads(kk, nk, h, d); // [B·h, nk, d]
    let scores = tf.reshape(product(q, k, false, true), [-1, h, nq, nk]);
    let p: tf.Tensor;
    if (keyMask) {
      scores = tf.add(scores, tf.reshape(tf.mul(tf.sub(1, keyMask), -1e9), [-1, 1, 1, nk]));
      p = tf.mul(tf.softmax(scores), tf.reshape(tf.max(keyMask, 1), [-1, 1, 1, 1]));
    } else {
      p = tf.softmax(scores);
    }
    save([q, k, p]);
    return {
      value: p,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sp] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor];
        const ds = tf.reshape(tf.mul(sp, tf.sub(dy, tf.sum(tf.mul(dy, sp), -1, true))), [-1, nq, nk]) as tf.Tensor3D;
        const dq = tf.mul(product(ds, sk), scale); // [B·h, nq, d]
        const dk = product(ds, sq, true, false); // [B·h, nk, d] (sq carries the scale)
        return [mergeHeads(dq, nq, h, d), mergeHeads(dk, nk, h, d)];
      },
    };
  }) as Grad) as (q: tf.Tensor, k: tf.Tensor) => tf.Tensor4D;
  return node(qp, kp);
}

/**
 * The attention context `merge(dropout(P)·V)` `[B, nq, h·dv]` from the weights `[B, h, nq, nk]`
 * and the projected values `[B, nk, h·dv]`, as ONE tape node. `mask` is the dropout mask of the
 * weights (already scaled by `1/(1 − rate)`), or null.
 * @internal
 */
export function attentionContext(p: tf.Tensor4D, vp: tf.Tensor, mask: tf.Tensor | null, h: number, dv: number, nq: number, nk: number): tf.Tensor3D {
  const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [pp, vv, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const pd = tf.reshape(mask ? tf.mul(pp, mask) : pp, [-1, nq, nk]) as tf.Tensor3D;
    const v = splitHeads(vv, nk, h, dv);
    save(mask ? [pd, v, mask] : [pd, v]);
    return {
      value: mergeHeads(product(pd, v), nq, h, dv),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [spd, sv, sm] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor | undefined];
        const dc = splitHeads(dy, nq, h, dv); // [B·h, nq, dv]
        let dp: tf.Tensor = tf.reshape(product(dc, sv, false, true), [-1, h, nq, nk]);
        if (sm) dp = tf.mul(dp, sm);
        return [dp, mergeHeads(product(spd, dc, true, false), nk, h, dv)];
      },
    };
  }) as Grad) as (p: tf.Tensor, v: tf.Tensor) => tf.Tensor3D;
  return node(p, vp);
}
