"""Published results that ship with nativeval, by the name ``--reference NAME`` takes.

The files live in ``harness_ext/leaderboard/reference/`` (read by
``nativeval.harness_ext.leaderboard.reference``); the names are here so that the study can accept them without
importing the leaderboard.
"""

EMBEDDED_REFERENCES = {"paper": "paper_results_full.csv"}
