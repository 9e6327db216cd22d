"""What lm-eval lacks for native-vs-translated evaluation.

Foundation modules (``errors``, ``io``, ``data``, ``resilience``, ``cache``, ``langid_check``,
``toymodel``) import nothing from the other nativeval packages, so ``translate`` and ``finetune``
may use them. The evaluation-side modules (metrics, catalogue, judge, results, stats, leaderboard)
never import ``translate`` or ``finetune``.
"""

__version__ = "0.1.0"
