"""Numbers computed from stored runs: comparisons, gates, leaderboards, meta-evaluation, the
report's tables."""
