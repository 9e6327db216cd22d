"""core.paths: the one rule for file names made from data, and for targets inside their folder."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.paths import (
    MAX_SEGMENT,
    MAX_SEGMENT_BYTES,
    inside,
    is_safe_segment,
    safe_segment,
    strictly_inside,
)

HOSTILE = [
    "../../victim",
    "..",
    ".",
    "/abs",
    "/",
    "a/b",
    "a\\b",
    "..\\..\\victim",
    ".hidden",
    "",
    "a\0b",
    "x" * 500,
    "模" * 300,
    "𠀀" * 100,
    "con",
    "NUL.txt",
    "a b",
    "trailing.",
    " lead",
    "-",
    "~",
    "$HOME",
    "a\nb",
    "C:\\Windows",
]


@pytest.mark.parametrize(
    "name",
    ["qwen-7b", "native_zh_xquad", "lr1e-4", "Qwen1.5-7B", "модель", "模型", "a+b", "v1.2", "_private"],
)
def test_everyday_names_stay_readable(name):
    assert safe_segment(name) == name
    assert is_safe_segment(name)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_become_one_plain_segment(name, tmp_path):
    segment = safe_segment(name)
    assert segment and segment not in (".", "..")
    assert "/" not in segment and "\\" not in segment and "\0" not in segment and "\n" not in segment
    assert not segment.startswith((".", " ")) and not segment.endswith((".", " "))
    assert len(segment) <= MAX_SEGMENT and len(segment.encode("utf-8")) <= MAX_SEGMENT_BYTES
    assert not is_safe_segment(name)
    # the file system agrees: it is one new entry directly in the folder
    (tmp_path / segment).write_text("x")
    assert [p.name for p in tmp_path.iterdir()] == [segment]


def test_different_names_never_share_a_segment():
    names = [
        "a/b",
        "a_b",
        "a\\b",
        "a b",
        "a:b",
        "a..b",
        "a.b",
        ".a_b",
        "a_b.",
        "",
        "unnamed",
        "..",
        ".",
        "x" * 200,
        "x" * 201,
        "x" * 199 + "y",
    ]
    segments = [safe_segment(n) for n in names]
    assert len(set(segments)) == len(names), dict(zip(names, segments, strict=True))
    assert safe_segment("a_b") == "a_b" and safe_segment("a/b").startswith("a_b-")


def test_unicode_normalization_forms_are_one_name():
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    assert safe_segment(nfc) == safe_segment(nfd) == nfc
    assert is_safe_segment(nfd)


def test_segments_are_deterministic_and_bounded():
    assert safe_segment("../../victim") == safe_segment("../../victim")
    assert safe_segment("../../victim").startswith("victim-")
    assert len(safe_segment("x" * 10_000, max_length=20)) <= 20
    assert safe_segment("", fallback="judge").startswith("judge-")
    assert safe_segment(None) == "None" and safe_segment(7) == "7"


def test_inside_accepts_targets_in_the_folder(tmp_path):
    assert inside(tmp_path, tmp_path / "a" / "b.json") == (tmp_path / "a" / "b.json").resolve()
    assert inside(tmp_path, "a/../b") == (tmp_path / "b").resolve()  # relative: taken from the root
    assert inside(tmp_path, tmp_path) == tmp_path.resolve()


@pytest.mark.parametrize("target", ["../victim", "a/../../victim", "/etc/passwd", "/"])
def test_inside_refuses_targets_outside_with_one_line(tmp_path, target):
    root = tmp_path / "out"
    root.mkdir()
    with pytest.raises(InputError) as err:
        inside(root, target, what="results file")
    message = str(err.value)
    assert "\n" not in message and "results file" in message and "outside" in message


def test_inside_refuses_a_sibling_with_a_common_prefix(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(InputError):
        inside(tmp_path / "out", tmp_path / "out-evil" / "x")


def test_inside_follows_symlinks_that_escape(tmp_path):
    root, victim = tmp_path / "out", tmp_path / "victim"
    root.mkdir()
    victim.mkdir()
    (root / "link").symlink_to(victim, target_is_directory=True)
    (root / "file-link").symlink_to(victim / "f")
    (root / "ok").symlink_to(root / "real")
    for target in (root / "link", root / "link" / "x.json", root / "file-link"):
        with pytest.raises(InputError):
            inside(root, target)
    assert inside(root, root / "ok" / "x") == (root / "real" / "x").resolve()


def test_inside_refuses_a_nul_byte(tmp_path):
    with pytest.raises(InputError, match="NUL"):
        inside(tmp_path, "a\0b")


def test_root_given_through_a_symlink_still_contains_its_files(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    alias = tmp_path / "alias"
    os.symlink(real, alias)
    assert inside(alias, alias / "x") == real / "x"


def test_strictly_inside_refuses_the_folder_itself(tmp_path):
    assert strictly_inside(tmp_path, tmp_path / "a") == (tmp_path / "a").resolve()
    with pytest.raises(InputError, match="itself"):
        strictly_inside(tmp_path, tmp_path / "a" / "..")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_any_text_becomes_one_bounded_segment_that_stays_in_its_folder(name):
    segment = safe_segment(name)
    assert segment == safe_segment(segment)  # a segment is its own segment
    assert segment not in ("", ".", "..") and not any(c in segment for c in "/\\\0\n")
    assert len(segment) <= MAX_SEGMENT and len(segment.encode("utf-8")) <= MAX_SEGMENT_BYTES
    root = Path("/srv/out")
    assert inside(root, root / segment).parent == root


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_different_names_give_different_segments(a, b):
    if unicodedata.normalize("NFC", a) != unicodedata.normalize("NFC", b):
        assert safe_segment(a) != safe_segment(b)
