// Bundles the built core entry (dist/index.js) for the browser with esbuild: it fails if the
// core, or any chunk it pulls in, imports a Node built-in (fs, path, ...).
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['dist/index.js'],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  write: false,
  external: ['@tensorflow/*'],
  logLevel: 'silent',
}).catch((error) => {
  console.error('dist/index.js is not browser-safe:');
  for (const e of error.errors ?? []) console.error(`  ${e.text}`);
  process.exit(1);
});
const bytes = result.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0);
console.log(`dist/index.js bundles for the browser without Node built-ins (${(bytes / 1024).toFixed(1)} KiB, tfjs external).`);
