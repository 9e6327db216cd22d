"""Compact supervised fine-tuning with the study's recipe (LoRA on q, k, v or full), producing checkpoints
that lm-eval and vLLM load, plus a ``nativeval_run.json`` manifest. See finetune/README.md."""
