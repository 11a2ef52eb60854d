/**
 * Modality balancing for N modalities: keeping a dominant modality (e.g. NIHSS in the clinical
 * table) from starving the others. Three methods, behind the trainer's `balancing` option:
 *
 * - `'adaptive'` (default): this package's method for adaptive optimizers. Each modality's
 *   confidence s_m (its auxiliary head's mean probability of the true class) is measured on
 *   **held-out** batches (the validation data, cycled every `interval` steps, smoothed), so that
 *   a branch that memorises its training batches does not look dominant. From the ratio
 *   r_m = s_m / mean(s_others), a dominant modality (r_m > 1) gets k_m = 1 − tanh(α·(r_m − 1)),
 *   the others 1, and k_m multiplies its encoder's **Adam step** (after the moments), which is
 *   what moves the weights: a constant factor on the gradient would cancel in m̂/√v̂.
 * - `'ogm-ge'`: on-the-fly gradient modulation (Peng et al. 2022) generalised to N modalities:
 *   the same coefficients from the *training* batch, multiplying each encoder's *gradient*. It was
 *   designed for SGD (`optimizer: 'sgd'`): under Adam(W) a roughly constant per-parameter
 *   gradient scale cancels in m̂/√v̂, so it is close to a no-op there (the trainer warns).
 * - `'pareto'`: gradient integration in the spirit of MMPareto (Wei & Hu 2024): for each modality
 *   encoder, the gradient of the multimodal loss a and of its unimodal (auxiliary) loss b; when
 *   they agree (a·b ≥ 0) the encoder takes a + b; when they conflict it takes the min-norm convex
 *   combination of a and b (the Pareto direction, MGDA: it decreases both losses) rescaled to
 *   max(‖a‖, ‖b‖), so the unimodal objective is never sacrificed to the multimodal one and the
 *   step does not shrink where the two disagree. It needs a second backward pass.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

/** The balancing methods. */
export type BalancingMethod = 'adaptive' | 'ogm-ge' | 'pareto';

/** Options of the trainer's `balancing`. */
export interface BalancingOptions {
  /** @defaultValue 'adaptive' */
  method?: BalancingMethod;
  /** Modulation strength α (`'adaptive'`, `'ogm-ge'`). @defaultValue 1 */
  alpha?: number;
  /** `'adaptive'`: steps between two held-out measurements. @defaultValue 10 */
  interval?: number;
  /** `'adaptive'`: held-out patients per measurement. @defaultValue 64 */
  heldOutBatch?: number;
  /** `'adaptive'`: weight of the previous scores in their moving average (0 = the last measurement only). @defaultValue 0.5 */
  momentum?: number;
}

/** {@link BalancingOptions} with their defaults. @internal */
export type ResolvedBalancing = Required<BalancingOptions>;

/**
 * Fills the defaults of the `balancing` option and validates it (false stays false).
 * @throws {@link InvalidArgumentError} naming the bad field.
 * @internal
 */
export function resolveBalancing(option: false | BalancingOptions | undefined): ResolvedBalancing | false {
  if (option === false) return false;
  if (option !== undefined && (typeof option !== 'object' || option === null)) {
    throw new InvalidArgumentError({ argument: 'balancing', message: 'balancing must be false or an options object.', received: option });
  }
  const b: ResolvedBalancing = { method: 'adaptive', alpha: 1, interval: 10, heldOutBatch: 64, momentum: 0.5, ...(option ?? {}) };
  if (!['adaptive', 'ogm-ge', 'pareto'].includes(b.method)) {
    throw new InvalidArgumentError({ argument: 'balancing.method', message: "balancing.method must be 'adaptive', 'ogm-ge' or 'pareto'.", received: b.method });
  }
  if (!(b.alpha > 0) || !Number.isFinite(b.alpha)) throw new InvalidArgumentError({ argument: 'balancing.alpha', message: 'balancing.alpha must be a finite number > 0.', received: b.alpha });
  if (!Number.isInteger(b.interval) || b.interval < 1) throw new InvalidArgumentError({ argument: 'balancing.interval', message: 'balancing.interval must be a positive integer.', received: b.interval });
  if (!Number.isInteger(b.heldOutBatch) || b.heldOutBatch < 2) throw new InvalidArgumentError({ argument: 'balancing.heldOutBatch', message: 'balancing.heldOutBatch must be an integer ≥ 2.', received: b.heldOutBatch });
  if (!(b.momentum >= 0 && b.momentum < 1)) throw new InvalidArgumentError({ argument: 'balancing.momentum', message: 'balancing.momentum must be in [0, 1).', received: b.momentum });
  return b;
}

/**
 * The modulation coefficients of N modalities from their confidence scores (plain numbers):
 * r_m = s_m / mean(s_others), k_m = 1 − tanh(α·max(0, r_m − 1)). Fewer than two modalities: all 1.
 *
 * @example
 * ```ts
 * balancingCoefficients({ image: 0.5, clinical: 0.9 }, 1); // { image: 1, clinical: 1 − tanh(0.8) ≈ 0.336 }
 * ```
 */
export function balancingCoefficients(scores: Readonly<Record<string, number>>, alpha: number): Record<string, number> {
  const names = Object.keys(scores);
  const out: Record<string, number> = {};
  for (const n of names) {
    if (names.length < 2) {
      out[n] = 1;
      continue;
    }
    const others = names.filter((o) => o !== n);
    const meanOthers = others.reduce((s, o) => s + scores[o]!, 0) / others.length;
    const ratio = scores[n]! / Math.max(meanOthers, 1e-8);
    out[n] = 1 - Math.tanh(alpha * Math.max(0, ratio - 1));
  }
  return out;
}

/**
 * The Pareto integration of two gradient vectors (see the module comment): a + b when
 * a·b ≥ 0, else the min-norm convex combination of a and b rescaled to max(‖a‖, ‖b‖). Returns the
 * weights (wa, wb) such that the result is wa·a + wb·b, from the three dot products.
 *
 * @example
 * ```ts
 * paretoWeights(1, 1, 0.5); // no conflict: { wa: 1, wb: 1, conflict: false }
 * paretoWeights(1, 1, -0.5); // conflict: the min-norm point is a/2 + b/2, rescaled
 * ```
 */
export function paretoWeights(aa: number, bb: number, ab: number): { wa: number; wb: number; conflict: boolean } {
  if (ab >= 0 || aa === 0 || bb === 0) return { wa: 1, wb: 1, conflict: false };
  // min over t ∈ [0, 1] of ‖t·a + (1 − t)·b‖²: t* = (b·b − a·b) / ‖a − b‖²
  const denom = aa + bb - 2 * ab;
  const t = Math.min(1, Math.max(0, (bb - ab) / denom));
  const norm2 = t * t * aa + (1 - t) * (1 - t) * bb + 2 * t * (1 - t) * ab;
  const target = Math.sqrt(Math.max(aa, bb));
  const s = norm2 > 0 ? target / Math.sqrt(norm2) : 0;
  return { wa: s * t, wb: s * (1 - t), conflict: true };
}
