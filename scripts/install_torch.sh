#!/usr/bin/env bash
# Install torch into the virtualenv of the python given as $1 (unless it already imports): the CPU build where no
# NVIDIA GPU is present, so that pip does not resolve the multi-GB CUDA build. pip's output goes to stdout.
set -euo pipefail
PY=$1
if "$PY" -c "import torch" 2>/dev/null; then
  exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  "$PY" -m pip install "torch>=2.3,<3"
else
  "$PY" -m pip install "torch==2.13.0" \
    || "$PY" -m pip install "torch>=2.3,<3" --index-url https://download.pytorch.org/whl/cpu
fi
