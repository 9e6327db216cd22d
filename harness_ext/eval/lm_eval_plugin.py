"""`nativeval lm-eval-plugin enable | disable | status`: the opt-in ``.pth`` file behind plain
``lm_eval --tasks native_zh``.

``enable`` writes one file, :data:`PTH_NAME`, into a site-packages folder (the running interpreter's by
default). Python runs its import line at start-up, which installs :mod:`.lm_eval_hook`; ``disable`` deletes
exactly that file. Nothing else is written anywhere.
"""

from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError, WriteFailed, os_reason
from nativeval.harness_ext.core.io import atomic_write_text

PTH_NAME = "nativeval-lm-eval-plugin.pth"
HEADER = "# nativeval lm-eval plugin:"
# site.py runs a .pth line only when it starts with `import`, and reports (but survives) an exception in it;
# the try keeps an uninstalled nativeval silent and any other failure to one warning line.
_HOOK_CODE = (
    "try:\n"
    "    from nativeval.harness_ext.eval import lm_eval_hook\n"
    "except ImportError:\n"
    "    pass\n"
    "except Exception as err:\n"
    "    sys.stderr.write(f'warning: nativeval lm-eval plugin: {err!r}\\n')\n"
    "else:\n"
    "    lm_eval_hook.install()\n"
)
PTH_TEXT = (
    f"{HEADER} lm-eval's TaskManager also indexes nativeval's tasks (README: 'lm_eval --tasks native_zh').\n"
    f"# Remove it with `nativeval lm-eval-plugin disable`, or delete this file.\n"
    f"import sys; exec({_HOOK_CODE!r})\n"
)


@dataclass(frozen=True)
class PluginState:
    path: Path  # where the plugin file is, or would be
    enabled: bool
    current: bool  # the file is the one this version of nativeval writes


def default_site_dir() -> Path:
    """The running interpreter's site-packages (``sysconfig`` purelib)."""
    return Path(sysconfig.get_paths()["purelib"])


def _plugin_file(site_dir: str | os.PathLike | None) -> Path:
    folder = Path(site_dir).expanduser() if site_dir is not None else default_site_dir()
    if not folder.is_dir():
        raise InputError(
            f"site-packages folder {folder} does not exist; give an existing one with --site-dir"
        )
    return folder / PTH_NAME


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def _ours(text: str) -> bool:
    return text.startswith(HEADER)


def status(site_dir: str | os.PathLike | None = None) -> PluginState:
    path = _plugin_file(site_dir)
    if not path.is_file():
        return PluginState(path, enabled=False, current=False)
    text = path.read_text(encoding="utf-8", errors="replace")
    if not _ours(text):
        raise InputError(f"{path} is not a file nativeval wrote; it is left alone")
    return PluginState(path, enabled=True, current=text == PTH_TEXT)


def enable(site_dir: str | os.PathLike | None = None) -> PluginState:
    """Write the plugin file (rewriting one of an older nativeval); already there, nothing changes."""
    state = status(site_dir)
    if state.current:
        return state
    if not _writable(state.path.parent):
        raise InputError(
            f"cannot write to {state.path.parent}: enable the plugin as the user who installed lm-eval "
            "there, or in a virtual environment"
        )
    try:
        atomic_write_text(state.path, PTH_TEXT)
    except OSError as err:
        raise WriteFailed(f"could not write {state.path}: {os_reason(err)}") from None
    return PluginState(state.path, enabled=True, current=True)


def disable(site_dir: str | os.PathLike | None = None) -> PluginState:
    """Delete the plugin file, and only it; not there, nothing changes."""
    state = status(site_dir)
    if state.enabled:
        try:
            state.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as err:
            raise WriteFailed(f"could not delete {state.path}: {os_reason(err)}") from None
    return PluginState(state.path, enabled=False, current=False)
