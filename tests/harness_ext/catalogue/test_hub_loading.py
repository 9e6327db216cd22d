"""The Hub path end to end: the real `datasets` / `huggingface_hub` clients against a loopback Hub
(nativeval.harness_ext.testing.hub_stub, set by HF_ENDPOINT) - the pinned revision reaches the Hub loader, a
script repo fails with one line naming the fix, and its recorded parquet export loads instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nativeval.harness_ext.catalogue.dataset_loader import PARQUET_EXPORT_REF
from nativeval.harness_ext.testing.hub_stub import HubStub, parquet_bytes

ROWS = [
    {"question": "¿2 + 2?", "answer": "A", "cultural_sensitivity_label": "CS"},
    {"question": "¿3 + 3?", "answer": "B", "cultural_sensitivity_label": ""},
]
README = b"""---
configs:
- config_name: es
  data_files:
  - split: test
    path: es/test-00000-of-00001.parquet
  - split: dev
    path: es/dev-00000-of-00001.parquet
---
"""

# Runs in a fresh interpreter: huggingface_hub reads HF_ENDPOINT when it is imported.
DRIVER = """
import json, sys
from nativeval.harness_ext.catalogue.dataset_loader import load_dataset
from nativeval.harness_ext.core.errors import DatasetUnavailable
out = {}
for name, kwargs in json.loads(sys.argv[1]).items():
    try:
        loaded = load_dataset(**kwargs)
        out[name] = {split: ds.to_list() for split, ds in loaded.items()}
    except DatasetUnavailable as err:
        out[name] = {"error": str(err)}
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def hub():
    with HubStub() as stub:
        yield stub


def run_loads(hub: HubStub, tmp_path, loads: dict[str, dict]) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()  # TRANSFORMERS_OFFLINE also switches huggingface_hub offline
        if not k.startswith(("HF_", "NATIVEVAL_DATA_DIR", "TRANSFORMERS_OFFLINE"))
    }
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_DISABLE_TELEMETRY="1",
        NATIVEVAL_DATA_DIR="",
    )
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(loads)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(row for row in proc.stdout.splitlines() if row.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def test_pinned_revision_reaches_the_hub_loader(hub, tmp_path):
    old = hub.add_commit(
        "org/parquet-data",
        {
            "README.md": README,
            "es/test-00000-of-00001.parquet": parquet_bytes(ROWS[:1]),
            "es/dev-00000-of-00001.parquet": parquet_bytes(ROWS[:1]),
        },
    )
    pinned = hub.add_commit(
        "org/parquet-data",
        {
            "README.md": README,
            "es/test-00000-of-00001.parquet": parquet_bytes(ROWS),
            "es/dev-00000-of-00001.parquet": parquet_bytes(ROWS[1:]),
        },
        refs=["main"],
    )
    got = run_loads(
        hub,
        tmp_path,
        {
            "pinned": {
                "dataset_id": "org/parquet-data",
                "config": "es",
                "splits": ["test", "dev"],
                "revision": pinned,
            },
            "old": {"dataset_id": "org/parquet-data", "config": "es", "splits": ["test"], "revision": old},
        },
    )
    assert got["pinned"] == {"test": ROWS, "dev": ROWS[1:]}
    assert got["old"] == {"test": ROWS[:1]}  # another pin, other rows: the revision is what decides
    resolved = [path for _, path in hub.requests if "/resolve/" in path and path.endswith(".parquet")]
    assert any(pinned in path for path in resolved) and any(old in path for path in resolved)
    assert not any("/main/" in path for _, path in hub.requests)


def test_script_repo_fails_with_one_line_naming_the_fix_and_its_parquet_export_loads(hub, tmp_path):
    script_commit = hub.add_commit(
        "org/scripted", {"scripted.py": b"import datasets\n", "data.zip": b"PK\x05\x06"}, refs=["main"]
    )
    stale_export = hub.add_commit("org/scripted", {"es/test/0000.parquet": parquet_bytes(ROWS[:1])})
    export = hub.add_commit(
        "org/scripted",
        {"es/test/0000.parquet": parquet_bytes(ROWS), "default/test/0000.parquet": parquet_bytes(ROWS[1:])},
        refs=[PARQUET_EXPORT_REF],
    )
    base = {"dataset_id": "org/scripted", "config": "es", "splits": ["test"], "revision": script_commit}
    got = run_loads(
        hub,
        tmp_path,
        {
            "unknown_script": base,
            "recorded_export": {**base, "loading_script": "scripted.py", "parquet_export": stale_export},
            "export_branch": {**base, "loading_script": "scripted.py"},
            "default_config": {
                **base,
                "config": None,
                "loading_script": "scripted.py",
                "parquet_export": export,
            },
        },
    )
    message = got["unknown_script"]["error"]
    assert "\n" not in message
    assert "has a loading script (scripted.py)" in message and script_commit in message
    assert "parquet_export" in message and "harness_ext/catalogue/data/" in message
    assert got["recorded_export"] == {"test": ROWS[:1]}  # the recorded commit, not the branch head
    assert got["export_branch"] == {"test": ROWS}
    assert got["default_config"] == {"test": ROWS[1:]}


def test_catalogue_records_each_script_repo_with_a_parquet_export_and_pins_the_rest():
    from nativeval.harness_ext.catalogue import catalogue

    benches = {t.benchmark.name: t.benchmark for t in catalogue().tasks}
    assert benches["cmmlu"].hub_source.via_parquet_export
    assert benches["cmmlu"].hub_source.load_revision == PARQUET_EXPORT_REF  # commit not recorded yet
    assert not benches["cmmlu"].revision_pinned
    for name in ("xquad", "ht_mmlu", "tydiqa", "ceval", "global_mmlu", "include"):
        assert benches[name].revision_pinned and not benches[name].hub_source.via_parquet_export, name
    record = catalogue().task("native_zh_cmmlu").leaves[0]
    from nativeval.harness_ext.catalogue.model import provenance

    dataset = provenance(catalogue().task("native_zh_cmmlu"), record)["dataset"]
    assert dataset["loading_script"] == "cmmlu.py" and dataset["parquet_export"] is None
