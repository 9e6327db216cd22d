"""Running lm-eval over nativeval tasks, the tasks' runtime helpers and the per-language metrics."""
