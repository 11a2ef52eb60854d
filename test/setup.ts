// Every test file starts on the pure-JS cpu backend (deterministic, no wasm start-up cost).
// Parity tests switch to wasm explicitly through test/helpers/backends.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
// Every vdafm layer class registered for (de)serialisation, as `import 'vdafm'` does.
import '../src/register.js';

tf.enableProdMode();
await tf.setBackend('cpu');
await tf.ready();
