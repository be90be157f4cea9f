#!/usr/bin/env bash
# System packages the project needs, from Debian (bookworm) — PyPI is not reachable on the project's machines.
#
#   chromium                      static figures: playwright-core drives it to run Plotly.toImage (PNG/SVG)
#   jupyter-core jupyter-client   `jupyter kernelspec list`, the kernel launcher used by nbclient
#   python3-nbclient jupyter-nbconvert
#                                 `jupyter nbconvert --to notebook --execute` (a second, independent executor)
#   jupyter-notebook              the classic Notebook front end (Debian has no JupyterLab)
#   gcc libc6-dev libdnnl-dev     the native matMul/convolution kernels (lib/perf/native, built by
#                                 tools/build-native.js): oneDNN (the library PyTorch runs its CPU convolutions
#                                 on) runs the wasm backend's convolutions and matrix products with JIT kernels
#                                 for the CPU's instruction set, AVX2 or AVX-512 (optional at run time: without
#                                 them the wasm kernels are used)
#   python3-torch python3-scipy   PyTorch comparisons in the benchmarks; scipy is the likelihood twin's RK45 (not
#                                 pulled in by torch without recommends). Big: ~600 MB unpacked; skip them with
#                                 --no-torch or SCORE_SDE_TORCH=0 when you only want notebooks
#
# All with --no-install-recommends (recommends pull in hundreds of MB of fonts, docs and X libraries).
# Runs apt-get only as root on a machine with apt-get; otherwise prints the command to run and exits 0, so that
# `bash tools/setup.sh` still works for a user without root (notebooks then run headlessly through
# `npm run notebooks`, which needs none of these; figures are skipped with a message when chromium is absent).
#
#   bash tools/setup-debian.sh [--no-torch] [--no-notebook] [--dry-run]
set -euo pipefail

torch="${SCORE_SDE_TORCH:-1}"
notebook=1
dry=0
for a in "$@"; do
  case "$a" in
    --no-torch) torch=0 ;;
    --no-notebook) notebook=0 ;;
    --dry-run) dry=1 ;;
    *) echo "setup-debian.sh: unknown argument $a (allowed: --no-torch, --no-notebook, --dry-run)" >&2; exit 2 ;;
  esac
done

pkgs=(chromium python3-nbclient jupyter-core jupyter-client jupyter-nbconvert gcc libc6-dev libdnnl-dev)
if [ "$notebook" = 1 ]; then pkgs+=(jupyter-notebook); fi
if [ "$torch" = 1 ]; then pkgs+=(python3-torch python3-scipy); fi

cmd="apt-get install -y --no-install-recommends ${pkgs[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-debian.sh: no apt-get here; install the equivalents of: ${pkgs[*]}" >&2
  echo "  (chromium for figures; Jupyter for nbconvert / classic Notebook; gcc + oneDNN for the native kernels;" >&2
  echo "   python3-torch for benchmarks)" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ] || [ "$dry" = 1 ]; then
  echo "setup-debian.sh: not installing (not root or --dry-run). As root run:"
  echo "  apt-get update && $cmd"
  exit 0
fi

# Another apt/dpkg run (e.g. unattended upgrades, a parallel setup) holds the lock: wait for it instead of failing.
export DEBIAN_FRONTEND=noninteractive
t0=$(date +%s)
apt-get -o DPkg::Lock::Timeout=1800 update -qq
log=$(mktemp)
# dpkg is chatty even with -qq: keep its output in a log and show the tail only when something fails.
if ! apt-get -o DPkg::Lock::Timeout=1800 install -y -qq --no-install-recommends "${pkgs[@]}" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "setup-debian.sh: apt-get install failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
echo "setup-debian.sh: installed ${pkgs[*]} in $(( $(date +%s) - t0 )) s"
