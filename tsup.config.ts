import { defineConfig } from 'tsup';

// Three entries share one copy of every class through split chunks (ESM and CJS alike), so that
// `vdafm`, `vdafm/node` and `vdafm/testing` register and use the same layer classes.
export default defineConfig({
  entry: { index: 'src/index.ts', node: 'src/node.ts', testing: 'src/testing.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'es2020',
  treeshake: false,
  // The consumer provides tfjs (peer dependencies) and picks the backend.
  external: [/^@tensorflow\//],
});
