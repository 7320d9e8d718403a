"""Task definitions and their data: loading, few-shot examples, extraction, lm-eval YAMLs."""


def __getattr__(name: str) -> object:
    """Names of the former module evalkit.tasks, with a DeprecationWarning (evalkit._moved)."""
    from evalkit._moved import forward_attribute

    return forward_attribute("tasks", name)
