// The clang that scripts/build-wasm.mjs would use ($CLANG, else clang-19, else clang) and its
// version line, or null when it (or wasm-ld next to it) is missing: the generated-module tests
// rebuild the modules only with the clang version recorded in them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const runs = (tool: string, args = ['--version']) => spawnSync(tool, args, { encoding: 'utf8' });

function localClang(): string | null {
  const candidates = process.env['CLANG'] ? [process.env['CLANG']] : ['clang-19', 'clang'];
  for (const c of candidates) {
    const r = runs(c);
    // clang finds wasm-ld in its own bin directory (Debian's clang-19 → /usr/lib/llvm-19/bin) or on
    // PATH; it prints the bare name when it finds none
    const ld = r.status === 0 ? runs(c, ['-print-prog-name=wasm-ld']).stdout.trim() : '';
    const found = ld.includes('/') ? existsSync(ld) : runs('wasm-ld').status === 0;
    if (r.status === 0 && found) return r.stdout.split('\n')[0]!.trim();
  }
  return null;
}

/** The local clang's `--version` first line, or null. */
export const LOCAL_CLANG = localClang();

/** The `// Built with:` line of a generated file's text. */
export function recordedClang(text: string): string | null {
  return /^\/\/ Built with: (.*)$/m.exec(text)?.[1] ?? null;
}
