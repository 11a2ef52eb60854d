import { defineConfig } from 'vitest/config';

// Two projects: `default` runs every test on whatever WebAssembly SIMD the engine offers (Node 20:
// simd128, so the simd128 build of vdafm's GEMM); `relaxed-simd` runs the kernel, op and thread
// tests again with relaxed SIMD turned on (test/setup-relaxed-simd.ts), so that `npm test`
// exercises both builds on every Node.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'default', include: ['test/**/*.test.ts'], setupFiles: ['test/setup.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'relaxed-simd',
          include: ['test/kernels/**/*.test.ts', 'test/ops/**/*.test.ts', 'test/node/threads.test.ts'],
          setupFiles: ['test/setup-relaxed-simd.ts', 'test/setup.ts'],
        },
      },
    ],
  },
});
