#!/usr/bin/env bash
# Create .venv (when missing) and install nativeval (editable) with its dev extras. A few progress lines here;
# pip's whole output goes to .venv/setup.log, named on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/.nativeval-installed
if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && [ "$STAMP" -nt setup.py ]; then
  exit 0
fi
start=$(date +%s)
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
LOG=.venv/setup.log
: >"$LOG"
STEP_PREFIX=setup STEP_LOG_NOTE="pip's output is in $LOG"
source scripts/step.sh
step "upgrading pip" .venv/bin/python -m pip install --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  step "installing torch (the CPU build where no NVIDIA GPU is present)" bash scripts/install_torch.sh .venv/bin/python
fi
step "installing nativeval (editable, with the dev and google extras)" .venv/bin/python -m pip install -e ".[dev,google]"
touch "$STAMP"
echo "setup: done in $(($(date +%s) - start)) s (pip's output: $LOG)"
