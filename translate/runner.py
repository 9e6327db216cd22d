"""File-level jobs behind ``cli.py translate`` and ``cli.py rtt``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.cache import KVCache
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, check_writable_folder
from nativeval.translate.backends.base import Backend
from nativeval.translate.dataset import Dataset, format_for, read_dataset, write_dataset
from nativeval.translate.pipeline import RunResult, translate_records
from nativeval.translate.quality import chrf_report
from nativeval.translate.run_report import RoundTripReport

DEFAULT_FIELDS = ("instruction", "output")


def parse_fields(fields: str | None) -> list[str]:
    """--fields as names; ``None`` is the default pair, an empty list is an error (not the default)."""
    names = [
        f.strip() for f in (",".join(DEFAULT_FIELDS) if fields is None else fields).split(",") if f.strip()
    ]
    if not names:
        raise InputError(
            f"--fields {fields!r} names no field; give comma-separated field names, e.g. "
            f"--fields {','.join(DEFAULT_FIELDS)}"
        )
    return names


def default_cache(out: str | Path) -> Path:
    return Path(f"{out}.segments.sqlite")


def default_report(out: str | Path) -> Path:
    return Path(f"{out}.report.json")


def check_path_clashes(paths: dict[str, str | Path | None]) -> None:
    """Refuse two options naming one file (``{"--in": .., "--out": .., "--pivot-out": ..}``), naming both."""
    seen: dict[Path, str] = {}
    for option, value in paths.items():
        if value is None or str(value).startswith("hf://"):
            continue
        resolved = Path(value).expanduser().resolve()
        if resolved in seen:
            first = seen[resolved]
            what = "would overwrite the input" if first == "--in" else f"is the same file as {first}"
            raise InputError(f"{option} {value} {what}; choose another path for {option}")
        seen[resolved] = option


def check_paths(
    in_spec: str,
    outputs: dict[str, str | Path],
    cache_path: str | Path | None,
    report_path: str | Path | None,
) -> None:
    """No output path (the report and the segment cache included, given or default) names the input or
    another output; cli.py calls it before a backend is built, the jobs again before they read."""
    out = outputs["--out"]
    paths = {
        **outputs,
        "--report": report_path or default_report(out),
        "--cache": cache_path or default_cache(out),
    }
    check_path_clashes({"--in": in_spec, **paths})
    for option, path in paths.items():
        check_writable_folder(Path(path).expanduser().parent, f"{option} {path}")


def _read_input(
    in_spec: str,
    split: str,
    outputs: dict[str, str | Path],
    cache_path: str | Path | None,
    report_path: str | Path | None,
) -> Dataset:
    """The input dataset, once no output path would overwrite it or another output."""
    check_paths(in_spec, outputs, cache_path, report_path)
    return read_dataset(in_spec, split=split)


def _output_format(dataset: Dataset, out: str | Path) -> str:
    """The input's format; an ``hf://`` input takes the output's suffix."""
    return format_for(out) if dataset.source.startswith("hf://") else dataset.fmt


def translate_file(
    backend: Backend,
    in_spec: str,
    out: str | Path,
    src: str,
    tgt: str,
    *,
    fields: str | None = None,
    cache_path: str | Path | None = None,
    report_path: str | Path | None = None,
    split: str = "train",
    **options: Any,
) -> RunResult:
    """Translate ``in_spec`` into ``out`` (same format); write the report; return the run."""
    names = parse_fields(fields)
    dataset = _read_input(in_spec, split, {"--out": out}, cache_path, report_path)
    with KVCache(cache_path or default_cache(out)) as cache:
        run = translate_records(dataset.records, names, backend, src, tgt, cache, **options)
    run.report.input = in_spec
    if run.dry_run:
        return run
    write_dataset(out, run.records, _output_format(dataset, out))
    run.report.output = str(out)
    atomic_write_json(report_path or default_report(out), run.report.to_json())
    return run


def round_trip_file(
    backend: Backend,
    in_spec: str,
    out: str | Path,
    pivot_out: str | Path,
    lang: str,
    *,
    pivot_lang: str = "en",
    fields: str | None = None,
    cache_path: str | Path | None = None,
    report_path: str | Path | None = None,
    split: str = "train",
    **options: Any,
) -> RunResult:
    """``lang`` -> ``pivot_lang`` -> ``lang``, keeping the pivot; chrF of original vs round trip."""
    names = parse_fields(fields)
    dataset = _read_input(in_spec, split, {"--out": out, "--pivot-out": pivot_out}, cache_path, report_path)
    fmt = _output_format(dataset, out)
    with KVCache(cache_path or default_cache(out)) as cache:
        forward = translate_records(dataset.records, names, backend, lang, pivot_lang, cache, **options)
        if forward.dry_run:  # the back translation costs about as much as the forward one
            return forward
        write_dataset(pivot_out, forward.records, fmt)
        options = {**options, "skip_invalid": False}  # invalid records were already dropped (and reported)
        back = translate_records(forward.records, names, backend, pivot_lang, lang, cache, **options)
    write_dataset(out, back.records, fmt)
    kept = [dataset.records[i] for i in forward.kept]
    chrf = {name: chrf_report([r[name] for r in kept], [r[name] for r in back.records]) for name in names}
    report = RoundTripReport(
        forward=forward.report,
        back=back.report,
        input=in_spec,
        output=str(out),
        pivot_output=str(pivot_out),
        lang=lang,
        pivot=pivot_lang,
        round_trip_chrf=chrf,
    )
    atomic_write_json(report_path or default_report(out), report.to_json())
    return RunResult(back.records, report, kept=forward.kept)
