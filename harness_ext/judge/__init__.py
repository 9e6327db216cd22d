"""The LLM judge.

Judging (``nativeval judge``): :mod:`.run` (the command) reads lm-eval outputs (:mod:`.lm_eval_outputs`),
builds :mod:`.calls` from the judge settings and prompts (:mod:`.config`, data under ``configs/``), has the
:mod:`.engine` make them, reads their :mod:`.replies`, turns those into :mod:`.scoring` and writes
:mod:`.outputs`.

Diagnostics (``nativeval judge-report``): :mod:`.diagnostics_io` reads the outputs, :mod:`.diagnostics`
computes agreement and biases with the statistics of :mod:`.resampled_stats`, :mod:`.report` lays them out.
"""
