"""Runnable tools: accuracy reports, calibration, spoken test sets (the tests import them)."""
