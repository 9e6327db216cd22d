"""lm-eval notices about nativeval's own tasks that say nothing to their user,
dropped for those tasks only."""

from __future__ import annotations

import logging

from nativeval.harness_ext.core.lm_eval_internals import CUSTOM_DATASET_LOGGER, CUSTOM_DATASET_NOTICE


class CustomDatasetNotice(logging.Filter):
    """lm-eval 0.4.13 warns, for every task whose data comes from a ``custom_dataset`` function, that "Custom
    kwargs can be passed to `--metadata`" (two lines per task: 181 for native_zh,translated_zh). nativeval's
    tasks all load through :func:`load_docs`, which takes no custom kwargs, so the notice is dropped for them
    (and only them: the names are the catalogue's, user-made tasks included)."""

    def __init__(self) -> None:
        super().__init__()
        self._ours: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if CUSTOM_DATASET_NOTICE not in message:
            return True
        task = message.split(":", 1)[0]
        if task not in self._ours:
            from nativeval.harness_ext.catalogue import catalogue

            self._ours = set(catalogue().known_names())
        return task not in self._ours


_INSTALLED = CustomDatasetNotice()


def install_notice_filter() -> None:
    """On lm-eval's task logger, once per process (both task runtimes call it at import)."""
    logger = logging.getLogger(CUSTOM_DATASET_LOGGER)
    if _INSTALLED not in logger.filters:
        logger.addFilter(_INSTALLED)
