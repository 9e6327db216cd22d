"""nativeval: native vs translated multilingual evaluation for lm-evaluation-harness.

The repository's top-level folders install as one import package: ``nativeval.tasks``,
``nativeval.harness_ext``, ``nativeval.translate``, ``nativeval.finetune`` and ``nativeval.cli``.

Python API (for notebooks and scripts; README "Python API")::

    import lm_eval
    import nativeval

    results = lm_eval.simple_evaluate(
        model="hf",
        model_args="pretrained=Qwen/Qwen2.5-0.5B",
        tasks=["native_zh", "translated_zh"],
        task_manager=nativeval.task_manager(),
    )

- ``task_manager(include_user_tasks=True, **kwargs)``: an ``lm_eval.tasks.TaskManager`` that indexes
  nativeval's tasks and the user-made ones (``nativeval translate-task``) besides what ``kwargs``
  (TaskManager's own ``include_path``, ``include_defaults``, ``metadata``) ask for.
- ``tasks_path()``: the installed task folder (what ``nativeval tasks --path`` prints).
- ``catalogue()``: the task catalogue, a :class:`Catalogue` of :class:`CatalogueTask` (built-in and
  user-made).
- ``languages()``: the language registry, code -> :class:`Language`.
- ``leaderboard(results, reference=None, baseline="native", resamples=10_000, seed=0, ...)``: the
  leaderboard of results files or folders as a :class:`Board` (what ``nativeval leaderboard`` renders).

Every name is imported on first use, so ``import nativeval`` itself costs next to nothing.
"""

__version__ = "0.1.0"

# public name -> (module, attribute)
_API = {
    "task_manager": ("nativeval.harness_ext.eval.lm_eval_tasks", "task_manager"),
    "tasks_path": ("nativeval.harness_ext.eval.lm_eval_tasks", "tasks_path"),
    "catalogue": ("nativeval.harness_ext.catalogue", "catalogue"),
    "Catalogue": ("nativeval.harness_ext.catalogue.model", "Catalogue"),
    "CatalogueTask": ("nativeval.harness_ext.catalogue.model", "CatalogueTask"),
    "languages": ("nativeval.harness_ext.core.languages", "registry"),
    "Language": ("nativeval.harness_ext.core.languages", "Language"),
    "leaderboard": ("nativeval.harness_ext.leaderboard.build", "build_leaderboard"),
    "Board": ("nativeval.harness_ext.leaderboard.model", "Board"),
}

__all__ = [
    "__version__",
    "task_manager",
    "tasks_path",
    "catalogue",
    "Catalogue",
    "CatalogueTask",
    "languages",
    "Language",
    "leaderboard",
    "Board",
]

TYPE_CHECKING = False  # not `from typing import TYPE_CHECKING`: typing costs milliseconds at every start-up
if TYPE_CHECKING:
    from nativeval.harness_ext.catalogue import catalogue
    from nativeval.harness_ext.catalogue.model import Catalogue, CatalogueTask
    from nativeval.harness_ext.core.languages import Language
    from nativeval.harness_ext.core.languages import registry as languages
    from nativeval.harness_ext.eval.lm_eval_tasks import task_manager, tasks_path
    from nativeval.harness_ext.leaderboard.build import build_leaderboard as leaderboard
    from nativeval.harness_ext.leaderboard.model import Board


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'nativeval' has no attribute {name!r}")
    import importlib

    module, attribute = _API[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
