/**
 * Registers the webgl backend. Imported lazily by the page (only when `?backend=webgl`), so that
 * the other backends never create a WebGL context. When `@tensorflow/tfjs-backend-webgl` is not
 * installed, the build (examples/browser/build.ts) replaces the package by a module that throws,
 * and the page reports that the backend is not in this build.
 *
 * @packageDocumentation
 */
import '@tensorflow/tfjs-backend-webgl';

/** `true` once the webgl backend is registered. */
export const webglRegistered = true;
