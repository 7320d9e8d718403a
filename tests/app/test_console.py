"""The console of a run (issue 21): one phased progress display, plain lines outside a terminal,
evalkit's logging with -v/-q and run.log, third-party bars and warnings kept off stderr, tables
that fit 100 columns ranked by each task's declared headline metric."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
import select
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from rich.console import Console

from evalkit.analysis.leaderboard import build_leaderboards, print_leaderboards
from evalkit.console.logs import configure_logging, needs_torchao, split_verbosity_flags
from evalkit.console.progress import RunProgress, eta_seconds, format_duration
from evalkit.types import Aggregate
from tests.conftest import write_jsonl

NOISE = ("Batches", "Loading weights", "torchao", "Failed to load", "triton", "_pytree", "it/s]")
ANSI = re.compile(r"\x1b\[")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_comes_from_the_first_update():
    assert eta_seconds(0, 100, 5.0) is None
    assert eta_seconds(10, 100, 2.0) == pytest.approx(18.0)  # 5/s, 90 left
    assert format_duration(3725) == "1:02:05"


def test_plain_lines_at_a_steady_rhythm_with_counts_rate_and_eta():
    clock, out = FakeClock(), io.StringIO()
    progress = RunProgress(interactive=False, stream=out, clock=clock, ticker=False)
    with progress:
        with progress.phase("score", 1000) as scored:
            rouge = progress.start_phase("rouge", None, "items", parent=scored)
            clock.now += 2.0
            scored.advance(50)  # 5%: no new tenth, 2 s < 10 s: nothing printed yet
            rouge.add_work(50, 1.5)
            assert out.getvalue() == ""
            clock.now += 1.0
            scored.advance(100)  # 15%, 3 s after the start: a 10% step
            clock.now += 0.5
            scored.advance(100)  # 25%, but only 0.5 s later: waits
            clock.now += 10.0
            scored.advance(1)  # 10 s since the last line: the steady line
        with progress.phase("report", None):
            clock.now += 4.0
    lines = out.getvalue().splitlines()
    # ETA at the rate since the first update (100 samples in the last 1 s): 850 left -> 8.5 s
    assert lines[0] == "score: 150/1,000 samples (15%), 50 samples/s, elapsed 0:00:03, ETA 0:00:08"
    assert lines[1].startswith("score: 251/1,000 samples (25%), 19 samples/s, elapsed 0:00:14")
    assert lines[2] == ("score: 251/1,000 samples, 19 samples/s, done in 0:00:14 (rouge 1.5 s)")
    assert lines[3] == "report: done in 0:00:04"  # a step without a count still shows
    assert len(lines) == 4 and not ANSI.search(out.getvalue())


def test_plain_ticker_reports_a_phase_blocked_in_one_long_batch():
    out = io.StringIO()
    progress = RunProgress(interactive=False, stream=out, interval_s=0.05)
    with progress, progress.phase("score", 10):
        import time

        time.sleep(0.3)  # no advance at all: the ticker thread still writes
    assert out.getvalue().count("score: 0/10 samples (0%)") >= 2


def test_interactive_display_has_every_phase_and_scorer_row():
    out = io.StringIO()
    progress = RunProgress(interactive=True, stream=out, width=100)
    with progress:
        with progress.phase("generate", 4) as generated:
            generated.advance(4)
        with progress.phase("score", 4) as scored:
            progress.start_phase("chrf", None, "items", parent=scored).add_work(4, 0.2)
            scored.advance(4)
        with progress.phase("aggregate", 2, "task x model") as aggregating:
            aggregating.advance(2)
        for name in ("analyse", "report"):
            with progress.phase(name):
                pass
    text = out.getvalue()
    for row in ("generate", "score", "  chrf", "aggregate", "analyse", "report"):
        assert row in text
    assert "4/4 samples" in text and "2/2 task x model" in text and "done in" in text


def test_evalkit_lines_on_stderr_third_party_warnings_only_in_run_log(tmp_path, capsys):
    run_log = tmp_path / "run.log"
    try:
        configure_logging(0, run_log)
        logging.getLogger("evalkit.app.session").info("run started")  # file only at -v0
        logging.getLogger("evalkit.app.session").warning("3 samples failed")
        logging.getLogger("sacrebleu").warning("It looks like you forgot to detokenize")
        with warnings.catch_warnings():  # earlier tests may have left filters that ignore it
            warnings.simplefilter("always")
            warnings.warn("some library deprecation", DeprecationWarning, stacklevel=1)
        err = capsys.readouterr().err
        assert err == "evalkit: warning: 3 samples failed\n"
        log = run_log.read_text()
        assert "evalkit.app.session: run started" in log and "forgot to detokenize" in log
        assert "some library deprecation" in log
        configure_logging(1, run_log)  # -v: evalkit's info on stderr too
        logging.getLogger("evalkit.x").info("phase done")
        assert capsys.readouterr().err == "phase done\n"
        configure_logging(-1, None)  # -q: errors only
        logging.getLogger("evalkit.x").warning("hidden")
        assert capsys.readouterr().err == ""
    finally:
        logging.captureWarnings(False)
        configure_logging(0, None)


def test_verbosity_flags_leave_hydra_overrides_alone():
    assert split_verbosity_flags(["-v", "limit=5", "-m", "-q", "-vv"]) == (["limit=5", "-m"], 2)
    assert split_verbosity_flags(["--quiet", "--cfg", "job"]) == (["--cfg", "job"], -1)


def test_torchao_only_for_quantized_local_models():
    assert not needs_torchao([{"backend": "replay"}, {"embedding": {}}])
    assert needs_torchao([{"backend": "hf", "quantization": "int8"}, {}])
    assert needs_torchao([{}, {"judge": {"model": {"quantization": "int4"}}}])


def test_blocking_torchao_keeps_transformers_from_importing_it():
    code = (
        "import sys; from evalkit.console.logs import block_torchao; block_torchao();"
        "import transformers.quantizers;"
        "print(sys.modules.get('torchao') is None and 'torchao.quantization' not in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip() == "True", out.stderr
    assert "Failed to load" not in out.stderr and "_pytree" not in out.stderr


def test_torch_s_own_log_handler_is_handed_to_evalkit_s(tmp_path):
    """torch prints its loggers' warnings through a stderr handler of its own (`W1202 ...
    torch/utils/_pytree.py:630] ...`); adopted, they follow evalkit's policy: run.log, not the
    console, which still shows torch's errors."""
    code = (
        "import logging, sys; from pathlib import Path;"
        "from evalkit.console.logs import adopt_torch_logging, configure_logging;"
        "configure_logging(0, Path(sys.argv[1])); import torch; adopt_torch_logging();"
        "logging.getLogger('torch.utils._pytree').warning('an Enum subclass (W1202 noise)');"
        "logging.getLogger('torch').error('a real torch error')"
    )
    env = {k: v for k, v in os.environ.items() if k != "TORCH_LOGS"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run.log")], env=env,
                         capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    assert out.stderr == "torch: error: a real torch error\n"
    log = (tmp_path / "run.log").read_text()
    assert "torch.utils._pytree: an Enum subclass (W1202 noise)" in log


def test_judge_distill_prints_no_third_party_noise(run_cli, tmp_path):
    """`evalkit judge distill` printed torch's `W1202 ... _pytree` warnings (torchao imported by
    transformers, through torch's own handler); its console is evalkit's lines only."""
    rows = [
        {"doc": f"d{i % 10}", "source": f"a source text {i} about cats", "summary":
         f"summary {i} " + "cats " * (i % 5), "human": 1 + i % 5}
        for i in range(40)
    ]  # fmt: skip
    write_jsonl(tmp_path / "labels.jsonl", rows)
    data = (
        f"data=[{{path: {tmp_path / 'labels.jsonl'}, group: doc, source: source, "
        "response: summary, labels: {coherence: human}}]"
    )
    out = run_cli("judge", "distill", data, f"output={tmp_path / 'out'}", "student.ensemble=1",
                  "validation.folds=2", subprocess=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert not [word for word in (*NOISE, "W1202") if word in out.stderr], out.stderr


def agg(task: str, model: str, metric: str, value: float, higher: bool = True) -> Aggregate:
    return Aggregate(
        task=task, model=model, metric=metric, value=value, ci_low=value - 1.5,
        ci_high=value + 1.25, n=3004, n_failed=0, method="corpus", higher_is_better=higher,
    )  # fmt: skip


def test_ranked_by_the_declared_metric_else_the_documented_fallback():
    aggregates = [
        agg("wmt", "a", "exact_match", 0.2),
        agg("wmt", "b", "exact_match", 0.0),
        agg("wmt", "a", "bleu", 20.0),
        agg("wmt", "b", "bleu", 30.0),
    ]
    [declared] = build_leaderboards(aggregates, {"wmt": "bleu"})
    assert declared.rank_metric == "bleu" and [m for m, _ in declared.rows] == ["b", "a"]
    [missing] = build_leaderboards(aggregates, {"wmt": "chrf"})  # e.g. scorers=qa
    assert missing.rank_metric == "exact_match"
    assert missing.rank_reason == "primary_metric chrf not scored in this run: first metric"
    [undeclared] = build_leaderboards(aggregates)
    assert undeclared.rank_reason == "no primary_metric declared: first metric"


def test_terminal_table_fits_100_columns_one_line_per_model():
    models = [f"a-rather-long-system-name-{i}.{i * 1000}" for i in range(16)]
    metrics = ["rouge1", "rouge2", "rougeL", "rougeLsum", "chrf", "embedding_sim", "dj_fluency"]
    aggregates = [
        agg("summeval", m, metric, 0.3 + i / 100)
        for i, m in enumerate(models)
        for metric in metrics
    ]
    out = io.StringIO()
    print_leaderboards(aggregates, Console(file=out, width=100), {"summeval": "chrf"})
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].startswith("summeval: ranked by chrf (the task's primary_metric)")
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 16  # no wrapped cells: one line per model
    assert "0.45 │  [-1.05, 1.7] │ 3004" in rows[0]  # headline value, then its CI, each whole
    assert lines[-1].startswith("95% bootstrap CIs; 6 more metrics: evalkit results RUN_DIR")


def test_builtin_tasks_declare_their_headline_metric():
    from evalkit.tasks.task import load_task

    assert load_task("wmt17_en_de").spec.primary_metric == "bleu"
    assert load_task("summeval").spec.primary_metric == "chrf"
    assert load_task("gsm8k").spec.primary_metric == "numeric_match_strict"
    from evalkit.resources import builtin_dir

    for task_yaml in builtin_dir("tasks").glob("*/task.yaml"):
        assert load_task(task_yaml.parent.name).spec.primary_metric, task_yaml


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
    )


def test_run_outside_a_terminal_plain_phases_no_third_party_noise(qa_task, tmp_path):
    """The embedding scorer loads sentence-transformers (its 'Batches' bar, transformers'
    'Loading weights', torchao's warnings before this change): none of it reaches stderr."""
    run_dir = tmp_path / "run"
    out = cli(
        "run", f"tasks=[{qa_task}]", "limit=8", "+scorers.embedding={}", f"run_dir={run_dir}",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for noise in NOISE:
        assert noise not in out.stderr, out.stderr
    assert not ANSI.search(out.stderr)  # no redrawn bar in a log
    for phase in ("generate", "score", "aggregate", "analyse", "report"):
        assert re.search(rf"^{phase}: .*done in \d:\d\d:\d\d", out.stderr, re.M), out.stderr
    assert re.search(
        r"^score: 16/16 samples, .*\(exact_match .* embedding .* s\)", out.stderr, re.M
    )
    assert max(len(line) for line in out.stdout.splitlines()) <= 100
    assert "toy_qa: ranked by exact_match (no primary_metric declared: first metric)" in out.stdout
    log = (run_dir / "run.log").read_text()
    assert "evalkit.app.session: run " in log and "evalkit.console.progress: score: 16/16" in log
    assert "torchao" not in log and "Failed to load" not in log
    # `evalkit results` still prints every metric
    results = cli("results", str(run_dir), cwd=tmp_path).stdout
    assert all(m in results for m in ("exact_match", "f1", "embedding_sim"))


def test_quiet_and_verbose(qa_task, tmp_path):
    quiet = cli(
        "-q", "run", f"tasks=[{qa_task}]", "limit=4", f"run_dir={tmp_path / 'q'}", cwd=tmp_path
    )
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert quiet.stdout.strip().splitlines()[-1] == str(tmp_path / "q")
    loud = cli(
        "run", "-v", f"tasks=[{qa_task}]", "limit=4", f"run_dir={tmp_path / 'v'}", cwd=tmp_path
    )
    assert loud.returncode == 0, loud.stderr
    assert f"run {tmp_path / 'v'}: tasks {qa_task}, model replay" in loud.stderr


def test_run_in_a_terminal_draws_one_live_display(qa_task, tmp_path):
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "run", f"tasks=[{qa_task}]", "limit=4",
         f"run_dir={tmp_path / 'run'}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave, text=True,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert ANSI.search(screen)  # a live display, redrawn
    assert "8/8 samples" in screen and "done in" in screen
    assert "(50%)" not in screen  # not the plain lines meant for logs


def test_dry_run_needs_no_api_key(qa_task, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_KEY_VAR"}
    out = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", "model=openai",
         "model.api_key_env=NO_SUCH_KEY_VAR", f"tasks=[{qa_task}]", "dry_run=true",
         f"run_dir={tmp_path / 'dry'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "dry run: nothing was sent" in out.stdout


def test_validate_lists_every_problem(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "task.yaml").write_text(
        "name: bad name\nversion: 1\ndata: d.jsonl\nscorerz: {}\nprompt: 3\n"
        "fields: {id: 5, bogus: x}\n"
    )
    out = cli("validate", str(root), cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[-1] == "evalkit: error: 5 problems found (listed above)"
    for field in ("name:", "fields.id:", "fields.bogus: unknown field", "prompt:", "scorerz:"):
        assert any(field in line for line in lines[:-1]), (field, lines)
    assert "more problems" not in out.stderr
    (root / "task.yaml").write_text(
        "name: ok\nversion: 1\ndata: d.jsonl\nprompt: '{{ input }} {{ metadata.x }}'\n"
        "fields: {input: q}\n"
    )
    rows = [{"q": "a", "x": 1}, {"z": 1}, {"q": "b"}, {"q": "c", "x": 2}, {"y": 2}]
    (root / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = cli("validate", str(root), cwd=tmp_path)
    assert out.returncode == 2
    assert "d.jsonl:2: field 'q' missing" in out.stderr and "d.jsonl:5: field 'q'" in out.stderr
    assert "sample '3'" in out.stderr and "3 problems found" in out.stderr


def test_launcher_without_the_sweeps_extra_is_one_line(monkeypatch, capsys):
    from evalkit.app.cli import main

    monkeypatch.setitem(sys.modules, "hydra_plugins.hydra_joblib_launcher", None)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-m", "launcher=joblib", "limit=1,2"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        'evalkit: error: launcher=joblib needs the sweeps extra: pip install "evalkit[sweeps]"\n'
    )


def test_run_help_describes_what_to_set(tmp_path):
    out = cli("run", "--help", cwd=tmp_path)
    assert out.returncode == 0
    for key in ("suite=", "tasks=", "model=replay|hf|openai", "model.quantization", "scorers=",
                "limit=N", "run_dir=", "cache.enabled", "dry_run=true", "retry_failed=true",
                "Sweeps (-m)", 'pip install "evalkit[sweeps]"', "run.log"):  # fmt: skip
        assert key in out.stdout, key
    assert "== Config ==" not in out.stdout  # not Hydra's bare dump


def test_sweep_jobs_and_leaderboard_rows_name_the_swept_values(qa_task, tmp_path):
    sweep = tmp_path / "sweep"
    out = cli(
        "-q", "run", "-m", f"tasks=[{qa_task}]", "limit=4,6", f"sweep_dir={sweep}", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert {p.name for p in sweep.iterdir() if (p / "run.json").exists()} == {
        "0_limit=4",
        "1_limit=6",
    }
    board = json.loads((sweep / "leaderboard" / "leaderboard.json").read_text())
    models = {row["model"] for row in board["tasks"]["toy_qa"]}
    assert models == {"good@limit=4", "bad@limit=4", "good@limit=6", "bad@limit=6"}


def test_job_dirname_is_sanitised():
    from evalkit.app.runner_loader import load_runner

    job_dirname = load_runner("run").job_dirname
    assert job_dirname(0, "model.path=/models/a b", "hf") == "0_model.path=_models_a_b"
    assert job_dirname(3, "", "replay") == "3_replay"


def test_agreement_table_fits_100_columns_with_negative_bounds():
    from evalkit.analysis.metric_agreement import AgreementTable, MetricAgreement
    from evalkit.app.session import print_agreement
    from evalkit.stats.metaeval import Correlation

    dims = ["coherence", "consistency", "fluency", "relevance"]
    cell = {"summary": Correlation("summary", "kendall", -0.04, -0.55, 0.78, 48)}
    rows = [
        MetricAgreement("summeval", name, None, 12345.678, {d: cell for d in dims})
        for name in ("dj_consistency", "embedding_sim", "rougeLsum")
    ]
    table = AgreementTable("summeval", dims, rows, {("coherence", "summary"): "rougeLsum"})
    out = io.StringIO()
    print_agreement([table], Console(file=out, width=100))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 100
    body = [line for line in lines if "[-.55,.78]" in line]
    assert len(body) == 3 and all(
        "…" not in line and line.rstrip().endswith("12,346") for line in body
    )
    assert body[0].split()[0] == "dj_consistency"


def test_a_phase_that_fails_prints_no_done_line():
    clock, out = FakeClock(), io.StringIO()
    progress = RunProgress(interactive=False, stream=out, clock=clock, ticker=False)
    with pytest.raises(ValueError), progress, progress.phase("generate", 10) as generated:
        generated.advance(3)
        raise ValueError("a user error on its way to one stderr line")
    assert out.getvalue() == ""


def test_sacrebleu_warning_in_a_scoring_worker_goes_to_run_log(tmp_path):
    """120 outputs ending in a tokenized period: sacrebleu warns "forgot to detokenize" from the
    scoring worker process (scoring.workers=1); run.log has it, the console does not."""
    root = tmp_path / "tasks" / "tok"
    rows = [
        {"id": f"s{i}", "src": f"sentence {i}", "ref": f"Satz Nummer {i} ."} for i in range(120)
    ]
    write_jsonl(root / "data.jsonl", rows)
    outputs = [
        {"id": r["id"], "system": "sys", "output": f"Satz {i} ."} for i, r in enumerate(rows)
    ]
    write_jsonl(root / "outputs.jsonl", outputs)
    (root / "task.yaml").write_text(
        "name: tok\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: src, references: ref}\n"
        "scorers: {bleu: {}}\noutputs: outputs.jsonl\n"
    )
    run_dir = tmp_path / "run"
    out = cli(
        "run", f"tasks=[{root}]", "scoring.workers=1", f"run_dir={run_dir}", cwd=tmp_path
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "tokenized period" not in out.stderr and "detokenize" not in out.stderr
    log = (run_dir / "run.log").read_text()
    assert "sacrebleu: That's 100 lines that end in a tokenized period" in log


def test_score_phase_moves_with_each_scorer_before_a_batch_is_written():
    clock, out = FakeClock(), io.StringIO()
    progress = RunProgress(interactive=False, stream=out, clock=clock, ticker=False)
    with progress, progress.phase("score", 512) as scored:
        on_scored = progress.scorer_rows(scored, {"summeval": ["rouge", "embedding"]})
        clock.now += 3.0
        on_scored("rouge", 256, 1.0)  # half of the first batch's work: 128 samples' worth
        assert scored.done == 128
        assert scored.status_line() == (
            "score: 128/512 samples (25%), 43 samples/s, elapsed 0:00:03, ETA 0:00:09"
        )
        on_scored("embedding", 256, 20.0)
        scored.at_least(256)  # the batch is written: no double count
        assert scored.done == 256
    assert "(rouge 1.0 s, embedding 20.0 s)" in out.getvalue().splitlines()[-1]


class _CloseRecorder(logging.Handler):
    closed = False

    def emit(self, record: logging.LogRecord) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        super().close()


def test_an_in_process_run_closes_no_logging_handler_of_the_host(qa_task, tmp_path, monkeypatch):
    """Hydra's own logging set-up (`dictConfig`) shuts down every handler in the process. absl's
    handler then closes the stream it was created with (under pytest: the capture of an earlier
    test; in an application: whatever the host gave it), and CI's pytest died with "lost
    sys.stderr". evalkit configures logging itself, so a host's handler stays open."""
    from evalkit.app.cli import main

    host = _CloseRecorder()
    logging.getLogger("host.app").addHandler(host)
    monkeypatch.chdir(tmp_path)
    try:
        main(["run", f"tasks=[{qa_task}]", "limit=2", f"run_dir={tmp_path / 'run'}",
              "progress=false", "report.enabled=false"])  # fmt: skip
        assert (tmp_path / "run" / "run.json").exists()
        assert not host.closed
    finally:
        logging.getLogger("host.app").removeHandler(host)


def test_the_eta_ignores_the_warm_up_before_the_first_update():
    """Models loading for a minute before the first batch must not make a 2-minute phase show an
    ETA of hours (the demo showed 'ETA 1:24:42' at 10 s); a phase without a total shows no rate
    or ETA placeholder."""
    clock, out = FakeClock(), io.StringIO()
    progress = RunProgress(interactive=False, stream=out, clock=clock, ticker=False)
    with progress, progress.phase("generate", 1000) as phase:
        clock.now += 60.0
        phase.advance(10)  # the first batch, after the warm-up
        clock.now += 1.0
        phase.advance(10)  # 10 a second from now on
        assert phase.status_line().endswith("ETA 0:01:38")  # 980 left at 10/s (was 0:49:49)
        with progress.phase("report", None) as report:
            assert report.status_line() == "report: elapsed 0:00:00"
