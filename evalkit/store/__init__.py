"""What a run keeps on disk: the run store, its read model, the response cache, atomic writes."""
