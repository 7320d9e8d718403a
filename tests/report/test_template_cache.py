"""Compiled report templates cached on disk (evalkit/report/template_cache.py): a fresh process
loads the compiled template instead of compiling it; a corrupt or unwritable cache is skipped."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from evalkit.report.template_cache import TemplateCache, cache_dir

SOURCE = "{% for x in items %}<li>{{ x }}</li>{% endfor %}"


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.DictLoader({"t.html": SOURCE}),
        autoescape=True,
        bytecode_cache=TemplateCache(),
    )


def test_second_environment_loads_the_compiled_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "cache"))
    assert (
        _env().get_template("t.html").render(items=["<a>", "b"]) == "<li>&lt;a&gt;</li><li>b</li>"
    )
    [stored] = list(cache_dir().glob("jinja-*.bin"))
    compiled: list[str] = []
    env = _env()
    monkeypatch.setattr(env, "compile", lambda *a, **k: compiled.append("x"))  # must not run
    assert env.get_template("t.html").render(items=["b"]) == "<li>b</li>"
    assert compiled == [] and stored.is_file()


def test_corrupt_or_unwritable_cache_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "cache"))
    _env().get_template("t.html")
    [stored] = list(cache_dir().glob("jinja-*.bin"))
    stored.write_bytes(stored.read_bytes()[:20])  # truncated: recompiled, then rewritten
    assert _env().get_template("t.html").render(items=[1]) == "<li>1</li>"
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(blocker))  # the cache directory cannot exist
    assert _env().get_template("t.html").render(items=[2]) == "<li>2</li>"
