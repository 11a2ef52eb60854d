/**
 * `vdafm/testing`: the layer-test harness and tensor assertions used by vdafm's own tests,
 * shipped so that users can hold their own layers and encoders to the same standard.
 *
 * @packageDocumentation
 */
import './register.js';

export {
  assertNoLeaks,
  assertTensorsClose,
  collectTensors,
  maxAbsDiff,
  type Tolerance,
  type Numeric,
} from './testing/assertions.js';
export { makeLayerInputs, runLayerTest, type LayerTestReport, type LayerTestSpec } from './testing/layer-test.js';
export { MockTextGenerator, type MockTextGeneratorOptions, type MockResponse } from './testing/mock-generator.js';
