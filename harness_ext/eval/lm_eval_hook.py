"""The start-up hook of ``nativeval lm-eval-plugin enable``: plain ``lm_eval --tasks native_zh`` finds our
tasks.

The plugin's ``.pth`` file imports this module at every Python start and calls :func:`install`, which only
puts a finder on ``sys.meta_path``: nothing else is imported (this module needs ``sys`` alone) until a program
imports ``lm_eval.tasks``. Then the finder lets the normal machinery find and run that module, and afterwards
wraps ``TaskManager.__init__`` so that every TaskManager's ``include_path`` starts with nativeval's task
folder and the user-made tasks' folders (:func:`~nativeval.harness_ext.eval.lm_eval_tasks.with_task_folders`).

The hook never breaks a program: every failure inside it is swallowed with a one-line warning, and it steps
aside once lm-eval discovers the ``lm_eval.tasks`` entry point of pyproject itself
(:func:`lm_eval_discovers_entry_points`).
"""

import sys

TARGET = "lm_eval.tasks"
MARK = "__nativeval_task_folders__"  # set on the wrapped __init__: a TaskManager class is wrapped once


def install() -> None:
    """Wrap lm-eval's TaskManager now if ``lm_eval.tasks`` is loaded, else when it is first imported."""
    try:
        if TARGET in sys.modules:
            patch(sys.modules[TARGET])
        elif not any(isinstance(finder, _Finder) for finder in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
    except Exception as err:  # a start-up hook must never stop Python from starting
        _warn(err)


class _Finder:
    """Finds nothing itself: for ``lm_eval.tasks`` it asks the other finders and wraps the loader they
    give."""

    def __init__(self) -> None:
        self._searching = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET or self._searching:
            return None
        # importlib.util.find_spec below walks sys.meta_path again, this finder included
        self._searching = True
        try:
            import importlib.util

            spec = importlib.util.find_spec(fullname)
            if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return None
            spec.loader = _PatchingLoader(spec.loader, self)
            return spec
        except Exception as err:
            _warn(err)
            return None  # the import goes on as if the hook were not there
        finally:
            self._searching = False


class _PatchingLoader:
    """The real loader, plus :func:`patch` once the module has run; it puts the real loader back first, so
    nothing of the hook stays on the module."""

    def __init__(self, loader, finder: _Finder) -> None:
        self._loader = loader
        self._finder = finder

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        try:
            if (
                self._finder in sys.meta_path
            ):  # its work is done; removed here, not while imports walk the list
                sys.meta_path.remove(self._finder)
            patch(module)
        except Exception as err:
            _warn(err)


def lm_eval_discovers_entry_points(tasks_module) -> bool:
    """Whether this lm-eval finds task packages through the ``lm_eval.tasks`` entry point group by itself.

    lm-eval 0.4.13 does not (upstream issue #4015). A release that does must list the group with
    ``importlib.metadata.entry_points`` in its task machinery: the modules directly in the ``lm_eval/tasks/``
    package (its sub-folders are tasks). So one of those few files holding both ``entry_points`` and the
    quoted group name (quoted, so ``from lm_eval.tasks import ...`` lines do not count) means lm-eval indexes
    our ``nativeval.tasks`` itself, and the hook steps aside. Reading them costs well under a millisecond,
    once per process, and only when lm-eval's tasks are imported anyway. (A discovery added elsewhere in
    lm-eval would index nativeval's folder twice: lm-eval keeps one copy of each task and warns about the
    other.)
    """
    import re
    from pathlib import Path

    quoted_group = re.compile(r"""["']lm_eval\.tasks["']""")
    for source in sorted(Path(tasks_module.__file__).parent.glob("*.py")):
        text = source.read_text(encoding="utf-8", errors="replace")
        if "entry_points" in text and quoted_group.search(text):
            return True
    return False


def patch(tasks_module) -> None:
    """Wrap ``tasks_module.TaskManager.__init__`` so its include_path starts with nativeval's task folders."""
    manager = getattr(tasks_module, "TaskManager", None)
    if manager is None or getattr(manager.__init__, MARK, False):
        return
    if lm_eval_discovers_entry_points(tasks_module):
        return
    import functools
    import inspect

    original = manager.__init__
    signature = inspect.signature(original)
    if "include_path" not in signature.parameters:
        return

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return original(self, *args, **kwargs)  # lm-eval's own message for a wrong call
        try:
            from nativeval.harness_ext.eval.lm_eval_tasks import with_task_folders

            bound.arguments["include_path"] = with_task_folders(bound.arguments.get("include_path"))
        except Exception as err:
            _warn(err)
            return original(self, *args, **kwargs)
        return original(*bound.args, **bound.kwargs)

    setattr(__init__, MARK, True)
    manager.__init__ = __init__


def _warn(err: BaseException) -> None:
    try:
        message = " ".join(str(err).split()) or type(err).__name__
        sys.stderr.write(
            f"warning: nativeval's lm-eval plugin did nothing ({type(err).__name__}: {message}); "
            "`nativeval lm-eval-plugin disable` removes it\n"
        )
    except Exception:
        pass
