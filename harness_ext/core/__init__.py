"""Errors, atomic io, caches, resilience, language identification, the language registry, model references."""
