# The two commands of the README's Quickstart: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: setup demo test lint clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(OFFLINE) $(PY) cli.py study configs/demo.yaml

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	@bash scripts/browser.sh
	$(OFFLINE) $(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo_out
