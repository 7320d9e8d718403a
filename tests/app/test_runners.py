"""runners/ is one importable package (`evalkit_runners`): one compose-and-translate-errors
helper shared by every command, the sweep callback and launcher pickling in it, and a bad
override reported in one line with exit status 2 by every command that composes a config."""

from __future__ import annotations

import sys

import pytest

from evalkit.app.runner_loader import PACKAGE, load_runner, runners_package
from evalkit.errors import UserError
from tests.conftest import REPO, cli_in_process


def test_the_runners_are_one_package_with_one_compose_helper() -> None:
    package = runners_package()
    assert package.__name__ == PACKAGE and package.__path__ == [str(REPO / "runners")]
    compose = load_runner("compose")
    for name in ("run", "judge", "judge_distill", "data_build", "serve"):
        runner = load_runner(name)
        assert runner.__name__ == f"{PACKAGE}.{name}"
        assert "initialize_config_dir" not in vars(runner), name  # composes through compose.py
    assert load_runner("judge") is sys.modules[f"{PACKAGE}.judge"]  # imported once
    assert compose.first_line  # the one translation of Hydra's errors


def test_compose_errors_become_one_line() -> None:
    compose = load_runner("compose")
    with pytest.raises(UserError) as caught:
        compose.compose_dict("judge", ["no_such_key=1"])
    message = str(caught.value)
    assert message.startswith("invalid override: Could not override 'no_such_key'.")
    assert "To append to your config use +no_such_key=1" in message and "\n" not in message
    serve_error = r"^invalid serve config: no viable alternative at input '\[1'$"
    with pytest.raises(UserError, match=serve_error):
        compose.compose_dict("serve", ["port=[1"], prefix="invalid serve config")
    data = compose.compose_dict("judge", ["seed=7"])
    assert data["seed"] == 7 and data["judge"] == "overall_quality"  # JudgeConfig's default


def test_the_cause_s_message_is_used_when_the_error_has_none() -> None:
    first_line = load_runner("compose").first_line
    try:
        try:
            raise ValueError("the real reason\nand more")
        except ValueError as inner:
            raise RuntimeError("") from inner
    except RuntimeError as outer:
        assert first_line(outer) == "the real reason"
    assert first_line(RuntimeError("")) == "could not compose the configuration"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("run", "bogus=1"), "evalkit: error: invalid override: Could not override 'bogus'."),
        (("judge", "run", "RUN", "bogus=1"), "evalkit: error: invalid override: Could not"),
        (("judge", "distill", "bogus=1"), "evalkit: error: invalid override: Could not"),
        (("serve", "port=[1"), "evalkit: error: invalid serve config: "),
    ],
)
def test_a_bad_override_is_one_line_and_exit_2(args: tuple[str, ...], expected: str) -> None:
    done = cli_in_process(*args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_the_sweep_callback_is_the_runners_and_ships_by_value() -> None:
    sweep = load_runner("sweep")
    from hydra.utils import get_class

    assert get_class("evalkit_runners.sweep.SweepLeaderboard") is sweep.SweepLeaderboard
    text = (REPO / "conf" / "run.yaml").read_text(encoding="utf-8")
    assert "_target_: evalkit_runners.sweep.SweepLeaderboard" in text
    cloudpickle = pytest.importorskip("cloudpickle")
    sweep.ship_by_value()
    import pickle

    shipped = cloudpickle.dumps(sweep.SweepLeaderboard())
    assert b"evalkit_runners" in shipped  # the class travels by value, not by import path
    assert type(pickle.loads(shipped)).__name__ == "SweepLeaderboard"
