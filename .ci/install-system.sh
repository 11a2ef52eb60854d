#!/usr/bin/env bash
# Debian packages the test run needs: Chromium (browser test, with its recommended fonts for
# screenshots) and Jupyter's nbclient (executed notebooks). Idempotent; skipped when present.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c "import nbclient, jupyter_client" 2>/dev/null || need+=(python3-nbclient jupyter-client jupyter-nbconvert)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages present"
  exit 0
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq "${need[@]}" > /tmp/vdafm-apt.log 2>&1; then
  echo "installed: ${need[*]}"
else
  tail -20 /tmp/vdafm-apt.log || true
  echo "WARNING: could not install ${need[*]}; the browser test and the notebooks will be skipped"
fi
