"""A cache file that is not an SQLite database, or one cut short, is one line naming the file and the fix."""

from __future__ import annotations

import pytest

from nativeval.harness_ext.core.cache import KVCache
from nativeval.harness_ext.core.errors import InputError


def test_a_file_that_is_not_a_database_names_the_file_and_says_delete_it(tmp_path):
    path = tmp_path / "verdicts.sqlite"
    path.write_bytes(b"these are not the bytes of an SQLite database " * 50)
    before = path.read_bytes()
    with pytest.raises(InputError) as caught:
        KVCache(path)
    assert str(caught.value) == (
        f"{path}: not a usable SQLite cache (file is not a database); delete the file "
        "(its items are computed again) or pass another cache file"
    )
    assert path.read_bytes() == before


def test_a_database_cut_short_is_found_when_read(tmp_path):
    path = tmp_path / "segments.sqlite"
    with KVCache(path) as cache:
        cache.put_many((f"key-{i}", "value " * 200) for i in range(400))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    expected = rf"^{path}: not a usable SQLite cache \(database disk image is malformed\)"
    with pytest.raises(InputError, match=expected), KVCache(path) as cache:
        [cache.get(f"key-{i}") for i in range(400)]


def test_a_sound_cache_still_works(tmp_path):
    with KVCache(tmp_path / "c.sqlite") as cache:
        cache.put("k", {"v": 1})
    with KVCache(tmp_path / "c.sqlite") as cache:
        assert cache.get("k") == {"v": 1} and len(cache) == 1
