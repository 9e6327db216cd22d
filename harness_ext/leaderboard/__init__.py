"""Leaderboards: reading results, statistics, the table model, renderers (md/csv/json/html) and plots."""
