"""Leaderboards: results files read into runs (``runs``, ``results_files``, ``task_columns``, ``samples``,
``columns``), the published numbers (``reference``, ``reference_rows``), the board model (``model``), its
findings (``findings``, ``claims``, ``cross_language``, ``tags``, ``translationese``), the page's sections
(``sections``) and the site (``build``); rendering is :mod:`nativeval.harness_ext.report`'s."""
