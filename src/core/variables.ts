/**
 * Creating `tf.Variable`s without leaking their initial tensors.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * A variable holding the values of `initial`, which is disposed: `tf.variable(t)` shares `t`'s
 * data but leaves `t` itself registered, so `tf.variable(tf.scalar(0))` leaks one tensor.
 *
 * @param initial - the initial values (consumed).
 * @param trainable - whether gradients flow to it.
 * @param name - optional unique variable name.
 * @returns the variable; the caller owns it.
 * @example
 * ```ts
 * const v = variableFrom(tf.zeros([3]), false); // tf.memory().numTensors grows by 1, not 2
 * ```
 */
export function variableFrom<R extends tf.Rank>(initial: tf.Tensor<R>, trainable = true, name?: string): tf.Variable<R> {
  try {
    return tf.variable(initial, trainable, name);
  } finally {
    initial.dispose();
  }
}
