"""The `evalkit judge` command: a judge over a stored run, pointwise or pairwise, and its
reports."""


def __getattr__(name: str) -> object:
    """Names of the former module evalkit.judging, with a DeprecationWarning (evalkit._moved)."""
    from evalkit._moved import forward_attribute

    return forward_attribute("judging", name)
