"""nativeval: native vs translated multilingual evaluation for lm-evaluation-harness.

The repository's top-level folders install as one import package: ``nativeval.tasks``,
``nativeval.harness_ext``, ``nativeval.translate``, ``nativeval.finetune`` and ``nativeval.cli``.
"""

__version__ = "0.1.0"
