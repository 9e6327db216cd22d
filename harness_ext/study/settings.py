"""The study's defaults and planning figures (settings.yaml beside this module), read once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.io import read_yaml

SETTINGS_FILE = Path(__file__).with_name("settings.yaml")


@lru_cache(maxsize=1)
def settings() -> dict[str, Any]:
    return read_yaml(SETTINGS_FILE)
