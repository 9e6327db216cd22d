"""Write the demo's small benchmark mirror (configs/demo_data/hf_mirror) from a mirror of the public releases.

    python configs/demo_data/make_demo_data.py --source PATH/TO/hf_mirror

Selection (deterministic, file order): XQuAD zh — the first 10 validation rows whose context is at most
400 characters; MGSM zh — the first 10 test rows and all 8 train exemplars; CMMLU — for each of the 67
subjects the 5 dev rows (the few-shot pool) and the first 2 test rows. Rows are copied verbatim, in the
Hub schema. Attribution and licences: configs/demo_data/README.md. Nothing here runs at demo time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "hf_mirror"


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(rel: str, records: list[dict]) -> None:
    path = OUT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True)
    src = parser.parse_args().source
    xquad = [r for r in rows(src / "google/xquad/xquad.zh/validation.jsonl") if len(r["context"]) <= 400]
    write("google/xquad/xquad.zh/validation.jsonl", xquad[:10])
    write("juletxara/mgsm/zh/test.jsonl", rows(src / "juletxara/mgsm/zh/test.jsonl")[:10])
    write("juletxara/mgsm/zh/train.jsonl", rows(src / "juletxara/mgsm/zh/train.jsonl"))
    for subject in sorted(p.name for p in (src / "haonan-li/cmmlu").iterdir() if p.is_dir()):
        write(f"haonan-li/cmmlu/{subject}/dev.jsonl", rows(src / f"haonan-li/cmmlu/{subject}/dev.jsonl")[:5])
        write(
            f"haonan-li/cmmlu/{subject}/test.jsonl", rows(src / f"haonan-li/cmmlu/{subject}/test.jsonl")[:2]
        )


if __name__ == "__main__":
    main()
