# The two commands of the README's Quickstart: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: setup demo test lint wheel-check clean slurm slurm-stop

setup:
	@bash scripts/setup.sh

demo: setup
	$(OFFLINE) $(PY) cli.py study configs/demo.yaml

# Formatting, ruff's rules, and unused definitions (vulture, with the reasoned allow-list scripts/vulture_allowlist.py).
lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(PY) scripts/dead_code.py

# The wheel installed (not editable) into a fresh virtualenv beside PyPI's `translate`, run from outside the checkout.
wheel-check: setup
	@PYTHON=$(PY) bash scripts/wheel_check.sh

test: setup lint
	@bash scripts/browser.sh
	$(OFFLINE) $(PY) -m pytest -q tests $(PYTEST_ARGS)

# A single-node Slurm on this machine (root; Debian's slurm-wlm + munge) for the `slurm` tests and for
# trying `--export-slurm` by hand; `eval "$$(bash scripts/slurm_local.sh env)"` points sbatch/squeue at it.
slurm:
	@bash scripts/slurm_install.sh
	@start=$$(date +%s); bash scripts/slurm_local.sh; echo "slurm: up in $$(( $$(date +%s) - start ))s"

slurm-stop:
	@bash scripts/slurm_local.sh stop

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo_out
