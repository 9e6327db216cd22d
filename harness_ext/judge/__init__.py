"""The LLM judge: engine, judge configs and prompts as data (configs/), verdict parsing."""
