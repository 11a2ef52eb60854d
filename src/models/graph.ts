/**
 * Runs a functional tfjs-layers model on concrete tensors calling every layer ONCE.
 *
 * tfjs-layers 4.22 executes a functional model (`model.apply(tensors)`, `model.predict`) by walking
 * its output *tensors* in topological order and calling `layer.apply` for each one: a layer with
 * K outputs that the graph reads runs K times (the VDAFM layer of the demo model, with 9 used
 * outputs, ran 9 times per forward pass, and its encoders twice each). {@link runGraph} walks
 * the graph's *nodes* instead, as Keras does, and recurses into nested functional models.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** The parts of a tfjs-layers node and container the executor reads (public JS fields). */
interface GraphNode {
  outboundLayer: tfl.layers.Layer;
  inputTensors: tfl.SymbolicTensor[];
  outputTensors: tfl.SymbolicTensor[];
  callArgs?: Record<string, unknown>;
}

interface GraphContainer {
  inputs: tfl.SymbolicTensor[];
  outputs: tfl.SymbolicTensor[];
  nodesByDepth: Record<string, GraphNode[]>;
}

function isContainer(layer: unknown): layer is tfl.layers.Layer & GraphContainer {
  const c = layer as Partial<GraphContainer> | null;
  return !!c && Array.isArray(c.inputs) && Array.isArray(c.outputs) && typeof c.nodesByDepth === 'object' && c.nodesByDepth !== null;
}

function run(container: GraphContainer, inputs: tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor[] {
  const values = new Map<number, tf.Tensor>();
  container.inputs.forEach((x, i) => values.set(x.id, inputs[i]!));
  const depths = Object.keys(container.nodesByDepth)
    .map(Number)
    .sort((a, b) => b - a);
  for (const depth of depths) {
    for (const node of container.nodesByDepth[String(depth)]!) {
      const layer = node.outboundLayer;
      if (layer.getClassName() === 'InputLayer' || node.inputTensors.length === 0) continue;
      const args = node.inputTensors.map((x) => values.get(x.id));
      if (args.some((a) => a === undefined)) continue; // a branch the given inputs do not reach
      const callKwargs = { ...(node.callArgs ?? {}), ...kwargs };
      const list = args as tf.Tensor[];
      const outputs = isContainer(layer)
        ? run(layer, list, kwargs)
        : (() => {
            const out = layer.apply(list.length === 1 ? list[0]! : list, callKwargs) as tf.Tensor | tf.Tensor[];
            return Array.isArray(out) ? out : [out];
          })();
      node.outputTensors.forEach((x, i) => values.set(x.id, outputs[i]!));
    }
  }
  return container.outputs.map((x) => {
    const v = values.get(x.id);
    if (!v) throw new Error(`runGraph: output ${x.name} could not be computed from the given inputs.`);
    return v;
  });
}

/**
 * Runs a functional tfjs-layers model (`tfl.model({...})`) on concrete tensors, calling every
 * layer once per node (tfjs-layers' own `model.apply` calls a K-output layer K times). Same
 * outputs as `model.apply(inputs, kwargs)`; recurses into nested functional models.
 *
 * @param model - a functional model.
 * @param inputs - one tensor per model input, in order.
 * @param kwargs - passed to every layer call (e.g. `{ training: true }`).
 * @returns one tensor per model output, in order; the caller owns them (intermediate tensors are
 *   disposed).
 * @example
 * ```ts
 * const [logits, gate] = runGraph(model, [image, text, mask], { training: false });
 * ```
 */
export function runGraph(model: tfl.LayersModel, inputs: tf.Tensor[], kwargs: Record<string, unknown> = {}): tf.Tensor[] {
  if (!isContainer(model)) throw new Error('runGraph needs a functional tfjs-layers model (tf.model / tfl.model).');
  return tf.tidy(() => run(model, inputs, kwargs));
}
