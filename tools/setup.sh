#!/usr/bin/env bash
# One command for a fresh machine: install everything the project needs, then run the main job.
#   bash tools/setup.sh            install + main job (sample a toy distribution with the exact score, write figures)
#   bash tools/setup.sh --no-demo  install only (what CI does before `npm test`)
set -euo pipefail
cd "$(dirname "$0")/.."
demo=1
for a in "$@"; do
  case "$a" in
    --no-demo) demo=0 ;;
    *) echo "setup.sh: unknown argument $a (allowed: --no-demo)" >&2; exit 2 ;;
  esac
done

# 1. System packages (Debian): see tools/setup-debian.sh for what and why. Skipped when not root or no apt.
if [ -f tools/setup-debian.sh ]; then bash tools/setup-debian.sh; fi

# 2. Node packages, exactly as locked. The optional native TensorFlow packages fail to download offline; npm goes on.
npm ci --no-audit --no-fund

# 3. The native oneDNN kernels (lib/perf/native). Optional: without gcc or oneDNN it says so and the wasm kernels
#    are used; strict where step 1 installed the packages (as root), so that a broken build is not silently slow.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then node tools/build-native.js --strict; else node tools/build-native.js; fi

# 4. The tslab Jupyter kernelspec (project-local under jupyter/, and the user's Jupyter when present).
if [ -f tools/notebooks/install-kernel.js ]; then node tools/notebooks/install-kernel.js; fi

# 5. The main job.
if [ "$demo" = 1 ]; then npm run demo; fi
