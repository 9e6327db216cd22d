#!/usr/bin/env bash
# The wheel as a user gets it: built from the checkout's files (tracked and new, not ignored), installed (not
# editable) into a fresh virtualenv beside PyPI's `translate`, and run from a folder outside the checkout, so
# that nothing is found through the working directory. Checks: one top-level import name; every file under
# tasks/, harness_ext/, translate/, finetune/ packaged; both `translate`s import; `nativeval tasks`,
# `nativeval eval` and `lm_eval --include_path` on a tiny model and the fixture mirror, offline.
# Dependencies are pinned to .venv's versions (when it exists) so that pip reuses the wheels setup cached.
# Progress lines here; everything else in $TMP/wheel_check.log, named (and kept) on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD_PY=${PYTHON:-.venv/bin/python}
BASE_PY=${BASE_PYTHON:-python3}
start=$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nativeval-wheel-check.XXXXXX")
LOG=$TMP/wheel_check.log
: >"$LOG"
STEP_PREFIX=wheel-check STEP_CLOCK=1 STEP_LOG_NOTE="the log is $LOG (the folder is kept)"
source "$REPO/scripts/step.sh"

copy_checkout() {
  mkdir "$TMP/src"
  git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C "$TMP/src"
}
step "copying the checkout's files to $TMP/src" copy_checkout
step "building the wheel" "$BUILD_PY" -m pip wheel --no-deps -w "$TMP/dist" "$TMP/src"
WHEEL=$(ls "$TMP"/dist/nativeval-*.whl)

# One top-level name, and every tracked file of the package folders (code and data) inside the wheel.
check_contents() {
  git ls-files -- tasks harness_ext translate finetune cli.py __init__.py >"$TMP/tracked.txt"
  "$BUILD_PY" - "$WHEEL" "$TMP/tracked.txt" <<'PY'
import sys
import zipfile

wheel, tracked = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    names = zf.namelist()
    (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    declared = zf.read(top_level).decode().split()
    (record,) = [n for n in names if n.endswith(".dist-info/RECORD")]
    recorded = {line.rsplit(",", 2)[0] for line in zf.read(record).decode().splitlines() if line}
roots = {path.split("/")[0] for path in recorded if not path.split("/")[0].endswith((".dist-info", ".data"))}
assert declared == ["nativeval"], f"top_level.txt names {declared}, not just nativeval"
assert roots == {"nativeval"}, f"the wheel installs the top-level names {sorted(roots)}, not just nativeval"
expected = {f"nativeval/{path}" for path in open(tracked, encoding="utf-8").read().splitlines()}
missing = sorted(expected - recorded)
assert not missing, f"{len(missing)} tracked files are not in the wheel, e.g. {missing[:10]}"
print(f"wheel: one top-level name (nativeval); all {len(expected)} tracked package files inside")
PY
}
step "checking the wheel's contents (one top-level name, every tracked package file)" check_contents

VENV=$TMP/venv
VPY=$VENV/bin/python
step "creating a fresh virtualenv" "$BASE_PY" -m venv "$VENV"
step "installing torch" bash scripts/install_torch.sh "$VPY"
pins() {
  if "$BUILD_PY" -c "import nativeval" 2>/dev/null; then  # .venv's versions, not torch (installed above) nor nativeval
    "$BUILD_PY" -m pip freeze --exclude-editable | grep -v -i -E '^(torch|nativeval)[=@ ]| @ ' >"$TMP/pins.txt"
  else
    : >"$TMP/pins.txt"
  fi
}
step "pinning dependencies to .venv's versions" pins
step "installing the wheel (not editable) and PyPI's translate" \
  "$VPY" -m pip install "$WHEEL" translate --constraint "$TMP/pins.txt"

# From here on: a folder outside the checkout, no PYTHONPATH, offline, the fixture mirror as the only data.
mkdir "$TMP/work"
cd "$TMP/work"
unset PYTHONPATH
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export HF_HOME=$TMP/hf-home NATIVEVAL_DATA_DIR=$REPO/tests/fixtures/hf_mirror NATIVEVAL_USER_TASKS=$TMP/user-tasks
export MPLCONFIGDIR=$TMP/mpl PATH=$VENV/bin:$PATH

check_imports() {
  "$VPY" - "$VENV" <<'PY'
import sys
from pathlib import Path

import translate  # PyPI's
from translate import Translator  # noqa: F401  (PyPI's API, not ours)

import nativeval
import nativeval.cli
import nativeval.translate

venv = Path(sys.argv[1]).resolve()
package = Path(nativeval.__file__).resolve().parent
assert package.is_relative_to(venv), f"nativeval imported from {package}, not the fresh venv"
assert not Path(translate.__file__).resolve().is_relative_to(package), translate.__file__
print(f"translate from {translate.__file__}; nativeval {nativeval.__version__} from {package}")
PY
}
step "importing PyPI's translate beside nativeval.translate" check_imports

list_tasks() {
  nativeval tasks --lang zh >"$TMP/tasks.txt"
  grep -q '^native_zh_ceval ' "$TMP/tasks.txt"
  grep -q '^translated_zh_mt_mmlu ' "$TMP/tasks.txt"
}
step "nativeval tasks" list_tasks
step "building the tiny model" "$VPY" -c \
  "from nativeval.harness_ext.testing.toymodel import build_tiny_model; build_tiny_model('$TMP/tiny')"

one_results_file() {
  find "$1" -name 'results_*.json' | grep -q .
}
run_nativeval_eval() {
  nativeval eval --model hf --model_args "pretrained=$TMP/tiny" --tasks translated_zh_mt_mmlu --limit 1 \
    --device cpu --output_path "$TMP/out/nativeval-eval"
  one_results_file "$TMP/out/nativeval-eval"
}
step "nativeval eval (tiny model, fixture data)" run_nativeval_eval

run_lm_eval() {
  TASKS=$(nativeval tasks --path)
  case "$TASKS" in "$VENV"/*) ;; *) echo "tasks folder $TASKS is not in the fresh venv"; return 1 ;; esac
  lm_eval --model hf --model_args "pretrained=$TMP/tiny" --include_path "$TASKS" \
    --tasks native_ru_tydiqa,native_zh_ceval_veterinary_medicine --limit 1 --device cpu \
    --output_path "$TMP/out/lm-eval"
  one_results_file "$TMP/out/lm-eval"
}
step "lm_eval --include_path <installed tasks> (a native task with its utils functions)" run_lm_eval

cd "$REPO"
echo "wheel-check: passed in $(($(date +%s) - start)) s"
rm -rf "$TMP"
