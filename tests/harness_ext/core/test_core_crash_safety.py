"""Core pieces of issue 15: the shared cache (claims, NFS-safe journal, concurrent writers), the cost
ledger under concurrency, and readers that turn bad bytes into one line naming file and byte."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nativeval.harness_ext.core.cache import KVCache
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import iter_jsonl, read_json, read_jsonl, read_text
from nativeval.harness_ext.core.resilience import BudgetExceeded, CostLedger

REPO = Path(__file__).resolve().parents[3]


# --- cache ------------------------------------------------------------------------------------------------
def test_cache_file_uses_the_rollback_journal_not_wal(tmp_path):
    with KVCache(tmp_path / "c.sqlite") as cache:
        cache.put("k", {"v": 1})
        mode = cache._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "delete"
    assert not list(tmp_path.glob("*-wal")) and not list(tmp_path.glob("*-shm"))


def test_a_claim_keeps_others_out_until_the_value_lands(tmp_path):
    a, b = KVCache(tmp_path / "c.sqlite"), KVCache(tmp_path / "c.sqlite")
    try:
        assert a.claim("item") and a.claim("item")  # re-entrant for its owner
        assert not b.claim("item")
        a.put("item", {"verdict": 4})
        assert not b.claim("item") and b.get("item") == {"verdict": 4}
        assert a.claim("other")
        a.release("other")
        assert b.claim("other")
    finally:
        a.close()
        b.close()


def test_claims_of_dead_owners_end(tmp_path):
    path = tmp_path / "c.sqlite"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    with KVCache(path) as cache:
        with cache._transaction() as conn:
            conn.execute(
                "INSERT INTO claims VALUES ('here', 'x', ?, ?, 9e12)", (cache.host, int(dead.stdout))
            )
            conn.execute("INSERT INTO claims VALUES ('far-expired', 'y', 'node-17', 1, 0)")
            conn.execute("INSERT INTO claims VALUES ('far-live', 'z', 'node-17', 1, 9e12)")
        assert cache.claim("here")  # a dead process on this host: taken over at once
        assert cache.claim("far-expired")  # another host: after the expiry
        assert not cache.claim("far-live")
    with KVCache(path) as again:  # closing a cache ends its own claims
        assert again.claim("here")


WRITER = textwrap.dedent("""
    import json, sys
    from nativeval.harness_ext.core.cache import KVCache
    path, me, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    won = []
    with KVCache(path) as cache:
        for i in range(60):
            cache.put(f"own-{me}-{i}", {"by": me})
            key = f"shared-{i}"
            if cache.claim(key):
                won.append(key)
                cache.put(key, {"by": me})
    json.dump(won, open(out, "w"))
""")


def test_four_concurrent_writers_on_one_cache_find_every_entry_once(tmp_path):
    path = tmp_path / "nfs" / "cache.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), str(n), str(tmp_path / f"won{n}.json")], env=env
        )
        for n in range(4)
    ]
    assert [p.wait(timeout=600) for p in procs] == [0, 0, 0, 0]
    won = [json.loads((tmp_path / f"won{n}.json").read_text()) for n in range(4)]
    shared = [key for keys in won for key in keys]
    assert sorted(shared) == sorted(
        f"shared-{i}" for i in range(60)
    )  # each shared item computed exactly once
    with KVCache(path) as cache:
        assert len(cache) == 4 * 60 + 60
        assert all(cache.get(f"own-{n}-{i}") == {"by": n} for n in range(4) for i in range(60))
        owners = {key: n for n, keys in enumerate(won) for key in keys}
        assert all(cache.get(key) == {"by": owners[key]} for key in owners)
        assert cache._conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0


# --- cost ledger under concurrency ---
def test_reservation_that_does_not_fit_waits_for_calls_in_flight():
    """Worst case 5, true cost 1, cap 10: at once only 2 fit, but waiting lets 6 calls through (true spend 6,
    then 6 + 5 > 10 with nothing in flight)."""
    ledger = CostLedger(prices={"m": {"input": 1e6}}, max_cost=10.0)
    made: list[int] = []

    async def call(i: int) -> None:
        try:
            await ledger.reserve_or_wait(5.0)
        except BudgetExceeded:
            return
        await asyncio.sleep(0.001 * (i % 3))
        ledger.settle(5.0, "m", input_tokens=1)
        made.append(i)

    async def main() -> None:
        await asyncio.gather(*(call(i) for i in range(20)))

    asyncio.run(main())
    assert len(made) == 6 and ledger.spent == pytest.approx(6.0) and ledger.cap_reached
    assert ledger.reserved == 0 and ledger.in_flight == 0
    assert "spent $6.0000 in 6 call(s)" in ledger.cap_message()


# --- readers: bad bytes ---
def test_json_reader_names_the_byte_of_bad_utf8(tmp_path):
    path = tmp_path / "d.json"
    path.write_bytes(b'[{"instruction": "caf\xe9"}]')
    with pytest.raises(
        InputError, match=r"d.json: byte 21: the file is not valid UTF-8 \(invalid continuation"
    ):
        read_json(path)


def test_jsonl_reader_names_the_byte_of_bad_utf8_on_any_line(tmp_path):
    path = tmp_path / "d.jsonl"
    first = json.dumps({"a": "好"}, ensure_ascii=False).encode() + b"\n"
    path.write_bytes(first + b'{"a": "\xff"}\n' + b'{"a": 1}\n')
    with pytest.raises(InputError, match=rf"d.jsonl: byte {len(first) + 7}: the file is not valid UTF-8"):
        read_jsonl(path)
    with pytest.raises(InputError, match="not valid UTF-8"):  # only a cut-off last line may be forgiven
        list(iter_jsonl(path, allow_truncated_tail=True))


def test_a_samples_file_cut_mid_character_keeps_its_complete_lines(tmp_path, caplog):
    path = tmp_path / "samples.jsonl"
    rows = [{"doc_id": i, "resps": [["答案"]]} for i in range(3)]
    blob = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    cut = blob[: len(blob) - 6]  # inside the last line's second character
    path.write_bytes(cut)
    with pytest.raises(InputError, match="ends in the middle of a character"):
        read_jsonl(path)
    assert [r["doc_id"] for r in iter_jsonl(path, allow_truncated_tail=True)] == [0, 1]
    assert "samples.jsonl:3: the last line is cut off" in caplog.text


def test_text_reader_for_yaml_files_names_the_byte(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"study: x\nname: \xc3")
    with pytest.raises(InputError, match=r"s.yaml: byte 15: the file ends in the middle of a character"):
        read_text(path)
