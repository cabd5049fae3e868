"""Reliability tests (issue 8): session fuzzing, interrupted deliveries, determinism, properties."""
