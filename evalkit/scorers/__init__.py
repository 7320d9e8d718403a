"""Built-in scorers. Each is registered as an `evalkit.scorers` entry point (pyproject.toml)."""
