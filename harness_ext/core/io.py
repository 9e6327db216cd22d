"""Small, crash-safe file helpers shared by every long job."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError

log = logging.getLogger("nativeval")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the new one, never half.

    The file gets the usual permissions (0666 less the umask), not mkstemp's owner-only 0600, so a
    mirror or a site written for a team stays readable by the team."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent, default=str) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))


def decode_utf8(path: str | os.PathLike, data: bytes, offset: int = 0) -> str:
    """``data`` (the bytes of ``path`` from byte ``offset``) as text; bad UTF-8 raises
    InputError naming the byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        where = offset + err.start
        cut = err.reason == "unexpected end of data"
        what = (
            "ends in the middle of a character (a truncated write?)"
            if cut
            else f"is not valid UTF-8 ({err.reason})"
        )
        raise InputError(
            f"{path}: byte {where}: the file {what}; re-save it as UTF-8 or restore it"
        ) from None


def read_text(path: str | os.PathLike) -> str:
    """A UTF-8 text file's content; a missing file or bad bytes raise InputError (one line: file and byte)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    return decode_utf8(path, data)


def iter_jsonl(path: str | os.PathLike, *, allow_truncated_tail: bool = False) -> Iterator[dict]:
    """Yield the objects of a JSONL file; a malformed line raises InputError naming file, line and byte.

    With ``allow_truncated_tail`` a last line cut off by a crash (no newline, not decodable or not JSON) is
    reported as a warning and left out, as lm-eval's samples files can end after an interrupted write."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    offset = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                yield json.loads(decode_utf8(path, raw, start))
                continue
            except InputError as err:
                problem = str(err)
            except json.JSONDecodeError as err:
                problem = (
                    f"{path}:{lineno}: malformed JSON line (from byte {start}: {err.msg}); "
                    "fix or remove that line"
                )
            if allow_truncated_tail and not raw.endswith(b"\n"):
                log.warning(
                    "%s:%d: the last line is cut off at byte %d (an interrupted write); it is left out",
                    path,
                    lineno,
                    start,
                )
                return
            raise InputError(problem)


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return list(iter_jsonl(path))


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; malformed JSON raises InputError naming file,
    line and column; bad bytes, the byte."""
    path = Path(path)
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}:{err.colno}: malformed JSON ({err.msg})") from None


@functools.lru_cache(maxsize=1)
def _unique_key_loader():
    """A safe YAML loader that refuses a key given twice in one mapping (YAML's last-wins would hide it).

    Merge keys (``<<: *anchor``) still override as YAML defines; only keys written twice are an error."""
    import yaml  # imported here: most io users never read YAML

    # libyaml's parser where installed (the catalogue's files parse 10x faster), the same safe constructor
    class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _value in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.get(key)
                    except TypeError:
                        continue  # an unhashable key: the base class reports it
                    if first is not None:
                        raise DuplicateYamlKey(key, first, key_node.start_mark)
                    seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader


class DuplicateYamlKey(Exception):
    def __init__(self, key: Any, first_line: int, mark: Any):
        self.key, self.first_line, self.problem_mark = key, first_line, mark
        self.problem = (
            f"duplicate key {key!r} (first at line {first_line}); YAML would keep only the last one, "
            "so remove or rename one of them"
        )
        super().__init__(self.problem)


def load_yaml_text(text: str, shown: str | os.PathLike) -> Any:
    """Parse YAML ``text`` (from ``shown``) with the one loader every nativeval YAML goes through: safe, and a
    key given twice in a mapping is an error. Any problem is one InputError line naming file and line."""
    import yaml

    try:
        return yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, DuplicateYamlKey) as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        if isinstance(err, DuplicateYamlKey):
            raise InputError(f"{shown}{line}: {problem}") from None
        raise InputError(f"{shown}{line}: malformed YAML ({problem})") from None


def read_yaml(path: str | os.PathLike, *, shown: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping; any problem is one InputError line naming the file.

    ``shown`` is the name the message uses (default ``path``): a missing file, malformed YAML (with its
    line), a key given twice (with both lines) and a top level that is not a mapping each get their own line.
    """
    path = Path(path)
    shown = shown if shown is not None else path
    if not path.is_file():
        raise InputError(f"{shown}: file not found")
    loaded = load_yaml_text(read_text(path), shown)
    if not isinstance(loaded, dict):
        raise InputError(f"{shown}: expected a mapping at the top level")
    return loaded


def file_sha256(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks so that a large file never sits in memory whole."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


MIN_FREE_BYTES = 1 << 20  # less than a small run's results: the save would fail after the work


def check_writable_folder(folder: str | os.PathLike, option: str, *, min_free: int = MIN_FREE_BYTES) -> None:
    """``folder`` (made later if missing) can be written, with room: a file in the way, a read-only folder or
    a nearly full disk is one InputError line naming ``option``, found before any work."""
    import shutil

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{option}: {folder} is a file, not a folder; choose another path")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{option}: {existing} is a file, not a folder; choose another path")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
        free = shutil.disk_usage(existing).free
    except OSError as err:
        reason = err.strerror or str(err)
        raise InputError(
            f"{option}: cannot write in {existing} ({reason}); choose a writable folder"
        ) from None
    if free < min_free:
        raise InputError(
            f"{option}: the disk holding {existing} has {free} bytes free; free some space or "
            "choose another folder"
        )
