"""Content hashes of a study's input files and folders, remembered so that a no-op rerun reads nothing big."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, file_sha256


class HashCache:
    """sha256 of files, remembered by (path, size, mtime) so that a no-op rerun reads nothing big."""

    def __init__(self, path: Path):
        self.path = path
        self._entries: dict[str, list] = {}
        self._dirty = False
        if path.is_file():
            try:
                self._entries = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, OSError):
                self._entries = {}  # a damaged cache is only a slower run

    def file_hash(self, path: Path) -> str:
        stat = path.stat()
        entry = self._entries.get(str(path))
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2]
        digest = file_sha256(path)
        self._entries[str(path)] = [stat.st_size, stat.st_mtime_ns, digest]
        self._dirty = True
        return digest

    def fingerprint(self, path: str) -> str:
        """A file's content hash, or a directory's hash over its files' relative paths and content hashes."""
        p = Path(path)
        if p.is_file():
            return self.file_hash(p)
        if p.is_dir():
            digest = hashlib.sha256()
            for child in sorted(c for c in p.rglob("*") if c.is_file() and not c.name.startswith(".")):
                digest.update(f"{child.relative_to(p).as_posix()}\0{self.file_hash(child)}\n".encode())
            return digest.hexdigest()
        raise InputError(f"{path}: file not found (an input of the study)")

    def save(self) -> None:
        if self._dirty:
            atomic_write_json(self.path, self._entries, indent=None)
            self._dirty = False
