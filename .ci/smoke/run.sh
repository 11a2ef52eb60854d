#!/usr/bin/env bash
# Installs the packed tarball into a fresh project and exercises it from the consumer's side.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
TARBALL="$(npm pack --silent --pack-destination "$WORK" | tail -1)"
echo "packed $TARBALL ($(du -k "$WORK/$TARBALL" | cut -f1) KiB)"
cd "$WORK"
mkdir consumer && cd consumer
cat > package.json <<'JSON'
{ "name": "vdafm-smoke-consumer", "version": "0.0.0", "private": true }
JSON
TFJS=$(node -p "require('$ROOT/node_modules/@tensorflow/tfjs-core/package.json').version")
npm install --no-audit --no-fund --loglevel=error "../$TARBALL" \
  "@tensorflow/tfjs-core@$TFJS" "@tensorflow/tfjs-layers@$TFJS" "@tensorflow/tfjs-backend-cpu@$TFJS"
cp "$ROOT/.ci/smoke/esm-train-save.mjs" "$ROOT/.ci/smoke/cjs-load.cjs" .
node esm-train-save.mjs "$WORK/model"
node cjs-load.cjs "$WORK/model"
npx --no-install vdafm --help | head -1
echo "smoke test passed"
