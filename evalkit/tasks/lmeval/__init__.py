"""lm-evaluation-harness task YAML, run as evalkit tasks (`tasks=[lmeval:PATH]`, `evalkit task
import`): yamlload (include, `!function` refused), spec (the keys evalkit honours), docs (data),
render (lm-eval's template semantics), convert (to evalkit's task model), index (files, groups,
tags) and importer (task folders and the import cache)."""

from evalkit.tasks.lmeval.importer import PREFIX, import_path, resolve_ref

__all__ = ["PREFIX", "import_path", "resolve_ref"]
