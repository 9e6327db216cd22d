"""Names that look unused to vulture (scripts/dead_code.py) but that a framework reaches by name or string.

One line a name, with the reason. Vulture matches by name only: each attribute access below marks that name
used everywhere, so keep names specific and delete a line when its definition goes.
"""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# click: a decorated function is registered as a command; nothing calls it by name
_.data_download  # cli.py: `nativeval data download`
_.data_check  # cli.py: `nativeval data check`
_.eval_  # cli.py: `nativeval eval` (named eval_ to leave the builtin alone)
_.lm_eval_plugin_enable  # cli.py: `nativeval lm-eval-plugin enable`
_.lm_eval_plugin_disable  # cli.py: `nativeval lm-eval-plugin disable`
_.lm_eval_plugin_status  # cli.py: `nativeval lm-eval-plugin status`

# called by name from outside Python code
_.install  # harness_ext/eval/lm_eval_hook.py: run by the import line of the plugin's .pth file
_.__dir__  # __init__.py: a module's __dir__ (PEP 562), called by dir(nativeval)

# lm-eval's LM interface: lm-eval calls these on the stand-in models of harness_ext/testing
_.loglikelihood_rolling
_.generate_until
_.disable_tqdm  # a parameter of lm-eval's LM methods, part of the signature we override

# transformers' Trainer calls these on our subclass and sampler (finetune/train.py, finetune/collate.py)
_._get_train_sampler
_.set_epoch
_.eval_dataset  # Trainer.evaluate's signature, overridden
_.ignore_keys  # Trainer.evaluate's signature, overridden

# attributes written on other libraries' objects, read there
_.pad_token  # a tokenizer's, read by transformers (finetune/modeling.py)
_.pre_tokenizer  # a `tokenizers` Tokenizer's (harness_ext/testing/toymodel.py, toy_mt.py)
_.decoder  # a `tokenizers` Tokenizer's
_.post_processor  # a `tokenizers` Tokenizer's
_.HF_DATASETS_TRUST_REMOTE_CODE  # datasets.config's, as lm-eval's own run sets it (harness_ext/eval/run.py)
_.model_source  # lm-eval's EvaluationTracker config, written into results (harness_ext/eval/run.py)
_.__loader__  # a module's, read by the import system (harness_ext/eval/lm_eval_hook.py)

# http.server calls these on the stand-in Hub's handler (harness_ext/testing/hub_stub.py)
_.daemon_threads
_.protocol_version
_.log_message
_.do_GET
_.do_HEAD
_.do_POST

# Python calls a module's __getattr__ for a missing name (PEP 562): tasks/*/utils.py resolve per-language
# functions that task YAMLs name with `!function utils.<name>_<lang>`
_.__getattr__

# EvalRequest's lm-eval logger options, read with getattr by name in harness_ext/eval/run.py
_.wandb_args
_.wandb_config_args
_.trackio_args
_.hf_hub_log_args

# fields of records written out whole with dataclasses.asdict (JSON / JSONL rows), read there, not as
# attributes
_.judge_model  # judge/scoring.py: Judgment and PairJudgment, rows of judgments_*.jsonl
_.response_a  # judge/scoring.py: PairJudgment
_.response_b  # judge/scoring.py: PairJudgment
_.explanation_a_first  # judge/scoring.py: PairJudgment
_.explanation_b_first  # judge/scoring.py: PairJudgment
_.left_gap  # leaderboard/findings.py: Interaction, in the findings JSON
_.right_gap  # leaderboard/findings.py: Interaction
_.created  # finetune/manifest.py: the run manifest
_.fields_with_text  # translate/run_report.py: the run report's record counts
_.length_ratio_outliers  # translate/task/quality_report.py: the quality figures
_.retry_requests_now  # translate/task/quality_report.py: the quality figures
