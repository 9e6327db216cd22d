"""Every stand-in the demo and the tests use: loopback OpenAI/Google servers, toy LM and MT models, fake runs.

From outside the tests (the study runner, benchmarks) they are reached through one command-line entry point,
``python -m nativeval.harness_ext.testing serve judge|echo|google`` and ``... toy-model`` (entry_point.py).
"""
