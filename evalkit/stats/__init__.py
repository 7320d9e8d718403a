"""Pure statistics (no I/O): bootstrap, significance tests, corpus formulas, correlations."""
