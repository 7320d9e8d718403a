"""The `evalkit judge` command: a judge over a stored run, pointwise or pairwise, and its
reports."""
