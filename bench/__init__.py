"""Benchmark cases run by ``scripts/bench.py`` (they measure and report; they are not tests)."""
