"""Default sizes the configuration and the CLI share, in a module that imports nothing (the CLI
imports it at start-up)."""

BROWSER_SAMPLES = 10_000
"""Outputs per task x model the report's sample browser shows by default (`report.max_samples`,
`evalkit report --max-samples`): a page that opens in seconds and a report stage in flat memory
at any run size; the statistics always use every output."""
