"""Task definitions and their data: loading, few-shot examples, extraction, lm-eval YAMLs."""
