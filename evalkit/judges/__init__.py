"""LLM-as-judge: rubrics as data, verdict parsing, pairwise comparison and judge reliability."""
