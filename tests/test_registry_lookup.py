"""Looking components up by name (evalkit.registry, public lookup only: names, scorer entries and
load): what
pyproject.toml declares as entry points is what the registry lists and loads, and an unknown
name is one user error with a close match."""

from __future__ import annotations

import importlib
import tomllib

import pytest

from evalkit import registry
from evalkit.errors import UserError
from evalkit.protocols import BACKEND_GROUP, SCORER_GROUP
from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
DECLARED = PYPROJECT["project"]["entry-points"]


@pytest.mark.parametrize("group", [SCORER_GROUP, BACKEND_GROUP])
def test_every_declared_entry_point_is_listed(group: str) -> None:
    assert set(DECLARED[group]) <= set(registry.names(group))


@pytest.mark.parametrize("name", ["exact_match", "f1", "bleu", "chrf", "ter"])
def test_load_gives_the_object_the_entry_point_names(name: str) -> None:
    module, _, attr = DECLARED[SCORER_GROUP][name].partition(":")
    entry = registry.scorer(name)
    assert entry.factory is getattr(importlib.import_module(module), attr)
    assert entry.source == DECLARED[SCORER_GROUP][name]


def test_an_unknown_name_is_a_user_error_with_a_suggestion() -> None:
    with pytest.raises(UserError, match=r"unknown scorer 'blue'.*bleu"):
        registry.load(SCORER_GROUP, "blue")
    with pytest.raises(UserError, match=r"unknown backend 'replai'.*replay"):
        registry.load(BACKEND_GROUP, "replai")
