"""The pytest plugin, run the way users run it: a test file of theirs, a pytest process of its own
(pytester), the plugin found through its `pytest11` entry point."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_assertions_on_a_cached_run(pytester: pytest.Pytester, qa_task):
    pytester.makepyfile(
        f"""
        import pytest

        TASK = "tasks=[{qa_task}]"

        def test_good_is_good(evalkit_run):
            run = evalkit_run(TASK)
            run.assert_metric("toy_qa", "exact_match", model="good", at_least=0.7)
            run.assert_metric("toy_qa", "f1", model="bad", at_most=0.1, ci_high_at_most=0.2)

        def test_readable_failure(evalkit_run):
            run = evalkit_run(TASK)
            with pytest.raises(AssertionError) as caught:
                run.assert_metric("toy_qa", "exact_match", model="good", at_least=0.9)
            message = str(caught.value)
            assert "toy_qa/good exact_match = 0.75 [" in message
            assert "(n=40, 0 failed); expected value >= 0.9" in message

        def test_unknown_metric_lists_what_exists(evalkit_run):
            with pytest.raises(AssertionError, match="no aggregate .* the run has"):
                evalkit_run(TASK).assert_metric("toy_qa", "bleu", model="good", at_least=1)
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3)
    again = pytester.runpytest_subprocess("-q")  # the second session resumes the cached run
    again.assert_outcomes(passed=3)
    assert list((pytester.path / ".pytest_cache" / "d" / "evalkit-runs").iterdir())


def test_without_the_cache_plugin_runs_go_to_a_temporary_directory(
    pytester: pytest.Pytester, qa_task
):
    pytester.makepyfile(
        f"""
        def test_good_is_good(evalkit_run):
            evalkit_run("tasks=[{qa_task}]").assert_metric(
                "toy_qa", "exact_match", model="good", at_least=0.7
            )
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".pytest_cache").exists()
