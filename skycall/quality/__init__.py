"""Scripted call-quality campaigns: scenario suites, parallel calls, thresholds, report."""
