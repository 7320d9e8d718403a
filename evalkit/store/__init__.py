"""What a run keeps on disk: the run store, compact columns, the response cache, atomic writes."""


def __getattr__(name: str) -> object:
    """Names of the former module evalkit.store, with a DeprecationWarning (evalkit._moved)."""
    from evalkit._moved import forward_attribute

    return forward_attribute("store", name)
