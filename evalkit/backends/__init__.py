"""Built-in backends. Each is registered as an `evalkit.backends` entry point (pyproject.toml)."""
