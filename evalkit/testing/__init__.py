"""Support for testing evalkit and its plugins, shared by the test suite and `benchmarks/`.

- `tiny_models`: tiny real Hugging Face models (a tokenizer trained with `tokenizers`, a random-init
  model from a config) saved to disk, to load back through the code path users take; needs the
  `local` extra (torch, transformers).
- `synthetic_runs`: tasks with recorded outputs of several model variants (quality, latency and
  cost trade-offs, optional hostile payloads) for report tests and benchmarks.
- `browser`: Debian Chromium's path and the headless launch flags that work without a sandbox.

Nothing in `evalkit` imports this package outside tests and benchmarks.
"""
