"""The steps of a run: plan, generate (cache-through), score, aggregate."""
