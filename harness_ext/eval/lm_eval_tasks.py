"""nativeval's tasks as lm-eval finds them: the task folders, and a ``TaskManager`` that indexes them.

One place for ``nativeval eval``, the Python API (``nativeval.task_manager()``) and the lm-eval plugin hook.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lm_eval.tasks import TaskManager

IncludePath = str | os.PathLike | Sequence[str | os.PathLike] | None


def tasks_path() -> Path:
    """The installed task folder (``lm_eval --include_path "$(nativeval tasks --path)"``)."""
    from nativeval.harness_ext.catalogue.model import TASKS_DIR

    return Path(TASKS_DIR)


def task_folders(include_user_tasks: bool = True) -> list[str]:
    """nativeval's task folder, then the folder of each user-made task (``nativeval translate-task``)."""
    folders = [str(tasks_path())]
    if include_user_tasks:
        from nativeval.harness_ext.catalogue.user_tasks import include_paths

        folders += include_paths()
    return folders


def with_task_folders(include_path: IncludePath, include_user_tasks: bool = True) -> list[str]:
    """A ``TaskManager`` include_path (None, one path or a list) with nativeval's task folders in front, each
    once. Folders given after ours win where names clash (lm-eval: later paths override earlier ones). The
    user task directory (``nativeval tasks --user-dir``) already reaches every task of ours: given, it adds
    none."""
    if include_path is None:
        given = []
    elif isinstance(include_path, str | os.PathLike):
        given = [str(include_path)]
    else:
        given = [str(p) for p in include_path]
    seen = {os.path.realpath(p) for p in given}
    if given and include_user_tasks:
        from nativeval.harness_ext.catalogue.user_tasks import user_tasks_dir

        if os.path.realpath(user_tasks_dir()) in seen:
            return given
    ours = []
    for folder in task_folders(include_user_tasks):
        if os.path.realpath(folder) not in seen:
            seen.add(os.path.realpath(folder))
            ours.append(folder)
    return ours + given


def task_manager(include_user_tasks: bool = True, **kwargs: Any) -> TaskManager:
    """An ``lm_eval.tasks.TaskManager`` that knows nativeval's tasks (and the user-made ones) besides whatever
    ``kwargs`` (TaskManager's own: ``include_path``, ``include_defaults``, ``metadata``) ask for."""
    from lm_eval.tasks import TaskManager

    kwargs["include_path"] = with_task_folders(kwargs.get("include_path"), include_user_tasks)
    return TaskManager(**kwargs)
