"""The study's built-in step, a seeded sample of records:
``python -m nativeval.harness_ext.study sample --in FILE --out FILE --n N --seed S``."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError, NativevalError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_jsonl, read_json, read_jsonl


def sample_records(source: Path, out: Path, n: int, seed: int) -> int:
    """Write n records drawn with a seeded RNG (kept in file order) in the source's format."""
    if source.suffix == ".jsonl":
        records, jsonl = read_jsonl(source), True
    else:
        records, jsonl = read_json(source), False
    if not isinstance(records, list):
        raise InputError(f"{source}: expected a JSON list of records")
    chosen = sorted(random.Random(seed).sample(range(len(records)), min(n, len(records))))
    rows = [records[i] for i in chosen]
    if jsonl:
        atomic_write_jsonl(out, rows)
    else:
        atomic_write_json(out, rows)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nativeval.harness_ext.study", description="the study's built-in steps"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="draw a seeded sample of records")
    sample.add_argument("--in", dest="source", required=True)
    sample.add_argument("--out", required=True)
    sample.add_argument("--n", type=int, required=True)
    sample.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        n = sample_records(Path(args.source), Path(args.out), args.n, args.seed)
    except NativevalError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    print(f"sampled {n} records into {args.out}")
    return 0
