"""Two small modules no test imported before: evalkit.backends.pricing (dollar costs from the price
table,
by hand) and evalkit.validation (pydantic errors as the one line a user error gets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit.backends.pricing import Price, load_price_table
from evalkit.errors import UserError
from evalkit.validation import all_errors, all_errors_in, first_error, first_error_in


def test_a_cost_is_tokens_times_the_price_per_million() -> None:
    price = Price(input_per_1m=3.0, output_per_1m=15.0)
    assert price.cost(1_000, 200) == pytest.approx((1_000 * 3 + 200 * 15) / 1e6)  # 0.006
    assert price.cost(None, 200) is None and price.cost(1_000, None) is None


def test_the_price_table_reads_numbers_and_rejects_others(tmp_path: Path) -> None:
    good = tmp_path / "prices.yaml"
    good.write_text("models:\n  a: {input: 1, output: 2.5}\n  b: {input: '0.5', output: 4}\n")
    assert load_price_table(good) == {"a": Price(1.0, 2.5), "b": Price(0.5, 4.0)}
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  a: {input: cheap, output: 2}\n")
    with pytest.raises(UserError, match=r"bad\.yaml: models\.a: needs numeric 'input'"):
        load_price_table(bad)
    with pytest.raises(UserError, match="cannot read the price table"):
        load_price_table(tmp_path / "missing.yaml")
    assert all(p.input_per_1m >= 0 and p.output_per_1m >= 0 for p in load_price_table().values())


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    inner: Inner


def _error(data: dict[str, object]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return caught.value


def test_the_first_error_is_one_line_with_its_field_path_and_a_count() -> None:
    exc = _error({"name": "x", "inner": {"size": "big", "colour": 1}})
    assert first_error(exc) == (
        "inner.size: Input should be a valid integer, unable to parse string as an integer"
        " (+1 more problems)"
    )
    assert all_errors(exc)[1] == "inner.colour: unknown field"
    assert first_error(_error({"name": "x", "inner": {"size": 1}, "extra": 2})) == (
        "extra: unknown field"
    )


def test_errors_in_a_yaml_file_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ninner:\n  size: big\n")
    exc = _error({"name": "x", "inner": {"size": "big"}})
    assert first_error_in(path, exc).startswith(f"{path}:3: inner.size: Input should be")
    assert all_errors_in(path, exc) == [f"{path}:3: {all_errors(exc)[0]}"]
