"""What lm-eval lacks for native-vs-translated evaluation, in sub-packages of one concern each.

- ``core``: errors, atomic io, caches, resilience (retries, concurrency, cost ledger), language
  identification, the language registry and model references. The base every package may use.
- ``catalogue``: the benchmark catalogue (``catalogue/data/*.yaml``), task-YAML generation, the dataset
  layer and mirrors.
- ``eval``: running lm-eval, the tasks' runtime helpers, metrics.
- ``judge``: the judge engine, judge configs and prompts as data, verdict parsing.
- ``leaderboard``: reading results, statistics, the table model, renderers and plots.
- ``study``: study files, planning, the local runner, the Slurm export.
- ``testing``: every stand-in the demo and the tests use (loopback servers, toy LM, toy MT).

``core`` and ``catalogue`` import no other nativeval sub-package except ``core``; nothing in
``harness_ext`` imports ``translate``, ``finetune`` or ``cli`` (a test checks this).
"""
