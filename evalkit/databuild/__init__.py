"""Dataset builder: clean, deduplicate, decontaminate, split and profile evaluation sets.

A side module (design.md): it depends on evalkit's core types and file readers only, and nothing
in the core imports it. `evalkit data build` runs `build.build_dataset`.
"""
