"""Moved to `evalkit.testing.tiny_models`; kept so that scripts written against the old path
(e.g. the reproduction scripts in ../shared/cases/) still run."""

from evalkit.testing.tiny_models import *  # noqa: F403
from evalkit.testing.tiny_models import CORPUS, PROMPTS  # noqa: F401
