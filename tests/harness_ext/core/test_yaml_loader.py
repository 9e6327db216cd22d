"""core.io's one YAML loader: a key given twice in any YAML nativeval reads is an
error naming key and lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import load_yaml_text, read_yaml

REPO = Path(__file__).resolve().parents[3]


def test_a_key_given_twice_names_the_key_and_both_lines(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(
        "variants:\n  native: {file: a.json}\n  google: {file: b.json}\n  native: {file: c.json}\n"
    )
    with pytest.raises(InputError) as err:
        read_yaml(path)
    message = str(err.value)
    assert message.startswith(f"{path}:4: duplicate key 'native' (first at line 2)")
    assert "\n" not in message


@pytest.mark.parametrize(
    "text", ["a: 1\na: 2\n", "x: [{k: 1, k: 2}]\n", "1: a\n1: b\n", "? [1]\n: a\nb: 1\nb: 2\n"]
)
def test_duplicates_at_any_depth_are_refused(text):
    with pytest.raises(InputError, match="duplicate key"):
        load_yaml_text(text, "f.yaml")


def test_merge_keys_still_override_as_yaml_defines():
    loaded = load_yaml_text("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\n", "f.yaml")
    assert loaded["c"] == {"x": 3, "y": 2}


def test_equal_looking_keys_of_different_types_are_different_keys():
    assert load_yaml_text("1: a\n'1': b\n", "f.yaml") == {1: "a", "1": "b"}


def test_malformed_yaml_is_still_one_line_with_its_line(tmp_path):
    with pytest.raises(InputError, match=r"f.yaml:2: malformed YAML"):
        load_yaml_text("a: 1\nb: ]\n", "f.yaml")


def test_judge_configs_and_the_language_registry_refuse_duplicates(tmp_path, monkeypatch):
    from nativeval.harness_ext.core.languages import registry
    from nativeval.harness_ext.judge.config import load_judge

    judge = tmp_path / "judge.yaml"
    judge.write_text("name: j\nmodel: m\nbase_url: http://127.0.0.1:1/v1\nmodel: other\n")
    with pytest.raises(InputError, match=r"judge.yaml:4: duplicate key 'model'"):
        load_judge(str(judge))
    table = tmp_path / "languages.yaml"
    table.write_text(
        (REPO / "harness_ext/core/languages.yaml").read_text(encoding="utf-8") + "\n  zh: {name: Chinese}\n"
    )
    with pytest.raises(InputError, match="duplicate key 'zh'"):
        registry(table)


@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(REPO).as_posix()
        for folder in ("harness_ext", "configs", "finetune", "translate")
        for p in (REPO / folder).rglob("*.yaml")
    ),
)
def test_every_yaml_nativeval_ships_has_unique_keys(path):
    load_yaml_text((REPO / path).read_text(encoding="utf-8"), path)
