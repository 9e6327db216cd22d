#!/usr/bin/env bash
# Create .venv (when missing) and install nativeval with its dev extras.
# Where no NVIDIA GPU is present, the CPU build of torch is installed first so that
# pip does not resolve the multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
STAMP=.venv/.nativeval-installed
if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    .venv/bin/python -m pip install --quiet "torch>=2.3,<3"
  else
    .venv/bin/python -m pip install --quiet "torch==2.13.0" \
      || .venv/bin/python -m pip install --quiet "torch>=2.3,<3" --index-url https://download.pytorch.org/whl/cpu
  fi
fi
.venv/bin/python -m pip install --quiet -e ".[dev,google]"
touch "$STAMP"
