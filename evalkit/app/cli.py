"""The `evalkit` command. Every user error ends in one line on stderr and exit status 2."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import click

from evalkit import __version__
from evalkit.abort import RunFailed, Terminated
from evalkit.errors import UserError
from evalkit.limits import BROWSER_SAMPLES
from evalkit.store.redact import redact

EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
SEED = click.IntRange(min=0)  # numpy's generators take no negative seed


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def handle_sigterm() -> None:
    """Handle SIGTERM like SIGINT in this (main) thread; exit status 143 instead of 130."""
    signal.signal(signal.SIGTERM, _raise_terminated)


class Stopped(Exception):
    """Ctrl-C or SIGTERM during a command, taken out of click's hands: click answers a
    KeyboardInterrupt with an empty stderr line before `main` could print its one line."""

    def __init__(self, interrupt: KeyboardInterrupt) -> None:
        super().__init__(str(interrupt))
        self.interrupt = interrupt


class _Evalkit(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Stopped(exc) from None


@click.group(cls=_Evalkit, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalkit")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv: debug).")
@click.option("-q", "--quiet", count=True, help="Only errors on stderr; no progress display.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int) -> None:
    """Evaluate and benchmark open-ended outputs of language models.

    Start with `evalkit run` (the offline demo suite), then `evalkit results RUN_DIR`.
    """
    from evalkit.console.logs import verbosity_from_env

    ctx.obj = _set_verbosity(verbose - quiet if verbose or quiet else verbosity_from_env())


def _set_verbosity(level: int) -> int:
    """Log at this verbosity (-2..2) here and in the processes a sweep starts (they read
    $EVALKIT_VERBOSITY, which also gives the default when no -v/-q is given)."""
    import os

    from evalkit.console.logs import VERBOSITY_ENV, clamp_verbosity, configure_logging

    level = clamp_verbosity(level, 0)
    os.environ[VERBOSITY_ENV] = str(level)
    configure_logging(level)
    return level


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def run(overrides: Sequence[str]) -> None:
    """Run a suite. OVERRIDES are Hydra overrides, e.g. `suite=demo model=replay limit=20`.

    `-m` sweeps (`evalkit run -m limit=10,20`); `--help` shows the config groups; `--cfg job`
    prints the composed config. The last line printed is the run directory.
    """
    from evalkit.app.runner_loader import load_runner
    from evalkit.console.logs import split_verbosity_flags

    handle_sigterm()
    args, level = split_verbosity_flags(overrides)
    if level:
        _set_verbosity(level + (click.get_current_context().find_root().obj or 0))
    runner = load_runner("run")
    # The config is composed and validated here, once, and a run_dir in use is refused before
    # Hydra writes to it; a single run is launched with that same composition.
    prepared = runner.preflight(args)
    try:
        runner.launch(args, prepared)
    finally:
        if prepared.held is not None:
            from evalkit.store.run_store import release_run_dir

            release_run_dir(prepared.held)


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def serve(overrides: Sequence[str]) -> None:
    """Serve a model over an OpenAI-compatible HTTP API (127.0.0.1:8000 by default).

    E.g. `evalkit serve model=hf model.path=/models/tiny port=8001 api_key_env=MY_KEY`.
    """
    from evalkit.app.runner_loader import load_runner

    load_runner("serve").launch(list(overrides))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: Sequence[Path]) -> None:
    """Check task files (task.yaml or its folder): schema, data, and every rendered prompt.

    Lists every problem found (one per line, on stderr); exit status 2 when there is any.
    """
    from evalkit.stages.taskcheck import check_task_file

    problems = []
    for path in paths:
        check = check_task_file(path)
        problems.extend(check.problems)
        if not check.problems and check.task is not None:
            name = check.task.name
            note = "; replay-only: live backends are refused" if check.task.replay_only else ""
            click.echo(f"ok: {check.task.spec_path} (task '{name}', {check.samples} samples{note})")
    if len(problems) == 1:
        raise UserError(problems[0])
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    if problems:
        raise UserError(f"{len(problems)} problems found (listed above)")


@cli.group()
def task() -> None:
    """Bring tasks from elsewhere (lm-evaluation-harness YAML)."""


@task.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--name", default=None, help="In a folder: the task, group or tag to import.")
def task_import(path: Path, out_dir: Path, name: str | None) -> None:
    """Write evalkit task folders (OUT_DIR/<task>/) from lm-eval generate_until YAML (PATH: a
    file or a folder of them). Run them with tasks=[OUT_DIR/<task>], or skip this step with
    tasks=[lmeval:PATH]."""
    from evalkit.tasks.lmeval import import_path

    for spec_path in import_path(path, out_dir, name):
        click.echo(f"wrote {spec_path}")


@task.command("llmbar")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path), default=Path("tasks/llmbar"))
@click.option(
    "--set", "subsets", multiple=True,
    help="Natural, Adversarial/Neighbor, Adversarial/GPTInst, Adversarial/GPTOut, "
    "Adversarial/Manual [all five: 419 pairs].",
)  # fmt: skip
def task_llmbar(source: Path, out_dir: Path, subsets: Sequence[str]) -> None:
    """Write a judge-evaluation task (OUT_DIR, default tasks/llmbar) from a checkout of
    princeton-nlp/LLMBar (SOURCE): each instruction's two outputs replayed as systems output_1
    and output_2, the one that follows it marked as people's choice. Then `evalkit run
    tasks=[OUT_DIR] model=replay` and `evalkit judge RUN_DIR` give the judge's accuracy and
    swap consistency."""
    from evalkit.tasks.llmbar import SUBSETS, write_llmbar_task

    click.echo(f"wrote {write_llmbar_task(source, out_dir, tuple(subsets) or SUBSETS)}")


@cli.command("list")
@click.argument(
    "kind", type=click.Choice(["tasks", "models", "scorers", "backends", "suites", "judges"])
)
def list_components(kind: str) -> None:
    """List what is available by name."""
    from evalkit.app.catalog import catalog_rows

    for row in catalog_rows(kind):
        click.echo("\t".join(row))


class _JudgeGroup(click.Group):
    """`evalkit judge RUN_DIR ...` judges a run; `evalkit judge distill ...` trains a judge.

    A first argument that is not a subcommand's name is a run directory (a run directory called
    `distill` is reached as `./distill`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_JudgeGroup)
def judge() -> None:
    """Judge a run with an LLM judge (`evalkit judge RUN_DIR [OVERRIDES]`), or train a small
    distilled judge (`evalkit judge distill [OVERRIDES]`)."""


@judge.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def judge_run_dir(run_dir: Path, overrides: Sequence[str]) -> None:
    """Judge a finished run's outputs with an LLM judge (nothing is generated again).

    OVERRIDES: `judge=RUBRIC` (evalkit list judges), `judge_model=openai judge_model.model=...`,
    `pairwise.pairs=all`, ... (every setting and its default: JudgeConfig in
    evalkit/judging/command.py). Scores join the run, its aggregates and report.
    """
    from evalkit.app.judge_view import print_judging
    from evalkit.app.runner_loader import load_runner
    from evalkit.judging.command import JudgeConfig, judge_run, resolve_judging

    config = JudgeConfig.from_dict(load_runner("judge").compose_config(list(overrides)))
    _, _, rubric = resolve_judging(config)  # the rubric judged: a protocol's, a YAML file's name
    record = judge_run(run_dir, config)
    metric = None if rubric.mode == "pairwise" else config.metric or rubric.name
    print_judging(record, rubric.name, metric)
    click.echo(str(run_dir / "report.html"))


@judge.command(context_settings={"ignore_unknown_options": True})
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def distill(overrides: Sequence[str]) -> None:
    """Train a small judge on big-judge or human labels, validate it by grouped cross-validation
    next to ROUGE-L, embedding similarity and length, and save it (every setting and its default:
    DistillConfig in evalkit/distill/config.py).

    E.g. `evalkit judge distill distill_data=summeval name=my-summeval-judge`. The last line
    printed is the judge's directory; its validation report is validation.html there.
    """
    from importlib import import_module

    from evalkit.app.runner_loader import load_runner
    from evalkit.console.logs import adopt_torch_logging, block_torchao
    from evalkit.distill.config import DistillConfig
    from evalkit.extras import extra_needed_by, require

    config = DistillConfig.from_dict(load_runner("judge_distill").compose_config(list(overrides)))
    what = "evalkit judge distill"
    require(what, "torch", "safetensors")  # every student: checked before any work
    block_torchao()  # no student is quantized; transformers would import torchao and its noise
    with extra_needed_by(what):
        import_module("torch")
        adopt_torch_logging()  # torch's warnings: run.log's policy, not printed on the console
        from evalkit.distill.train import distill as run_distill
        from evalkit.distill.view import print_validation

        result = run_distill(config)
    print_validation(result)
    click.echo(str(result.directory))


def _sample_cap(ctx: Any, param: Any, value: str | None) -> int | Literal["run"] | None:
    """`--max-samples`: a whole number >= 0, or 'all' (None); unset: "run", the run's own."""
    if value is None:
        return "run"
    text = value.strip().lower()
    if text.isdigit():
        return int(text)
    if text == "all":
        return None
    raise click.BadParameter(f"{value!r} is not a whole number >= 0 or 'all'")


def _runs_own_cap(run_dirs: tuple[Path, ...]) -> int | None:
    """The sample browser's cap when none is given: a single run's own `report.max_samples`
    (what `evalkit run` drew, so its stored analysis is reused; None: every output, as runs
    before the cap existed were drawn), else BROWSER_SAMPLES."""
    if len(run_dirs) != 1:
        return BROWSER_SAMPLES
    from evalkit.analysis.rundir import open_run

    report = open_run(run_dirs[0]).record.config.get("report")
    if not isinstance(report, dict) or "max_samples" not in report:
        return BROWSER_SAMPLES
    cap = report["max_samples"]
    return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap >= 0 else None


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
def results(run_dirs: Sequence[Path], fmt: str) -> None:
    """Print tidy result rows: task, model, metric, value, ci_low, ci_high, n, n_failed."""
    from evalkit.analysis.page_text import finite
    from evalkit.analysis.results import results_frame

    frame = results_frame(run_dirs)
    if fmt == "json":  # NaN (no value) as null, as run.json writes it: strict JSON has no NaN
        rows = finite(frame.to_dict(orient="records"))
        click.echo(json.dumps(rows, indent=2, allow_nan=False))
    elif fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        click.echo(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


@cli.command("meta-eval")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--pred", default=None, help="File mode: field with the metric's score(s).")
@click.option("--human", default=None, help="File mode: field with the human score(s).")
@click.option("--group", default=None, help="File mode: field naming the source document.")
@click.option("--system", default=None, help="File mode: field naming the system.")
@click.option(
    "--resamples",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Bootstrap resamples for CIs.",
)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--ratings",
    type=click.Path(path_type=Path),
    default=None,
    help="Run mode: people's ratings from `evalkit studio` (its .sqlite, or the run dir).",
)
def meta_eval(
    source: Path,
    pred: str | None,
    human: str | None,
    group: str | None,
    system: str | None,
    resamples: int,
    as_json: bool,
    ratings: Path | None,
) -> None:
    """Correlate metrics with human judgments (Pearson, Spearman, Kendall; sample, system and
    summary level, with bootstrap CIs). SOURCE is a run directory or a JSONL/CSV file."""
    from evalkit.app.metaeval_view import meta_evaluate

    if not source.exists():
        raise UserError(f"{source}: file does not exist")
    meta_evaluate(
        source,
        pred=pred,
        human=human,
        group=group,
        system=system,
        n_resamples=resamples,
        as_json=as_json,
        ratings=ratings,
    )


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--baseline", default=None, help="Model to compare against (default: each task's first model)."
)
@click.option(
    "--test",
    "test",
    type=click.Choice(["bootstrap", "ar"]),
    default="bootstrap",
    help="Resampling test of corpus metrics (BLEU, chrF, TER); mean metrics get the paired "
    "t-test and 0/1 metrics McNemar's exact test.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows instead of a table.")
@click.option("--seed", default=1234, show_default=True, type=SEED)
@click.option(
    "--resamples",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Bootstrap resamples of the CIs; the least B of a resampling test (raised with the "
    "number of comparisons per task x metric).",
)
def compare(
    run_dirs: Sequence[Path],
    baseline: str | None,
    test: str,
    as_json: bool,
    seed: int,
    resamples: int,
) -> None:
    """Compare every model with a baseline on shared samples: deltas, CIs, p-values (Holm)."""
    from evalkit.analysis.compare import compare_runs
    from evalkit.app.compare_view import print_comparisons

    chosen: Literal["bootstrap", "ar"] = "ar" if test == "ar" else "bootstrap"
    rows = compare_runs(run_dirs, baseline=baseline, test=chosen, seed=seed, n_resamples=resamples)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
    else:
        print_comparisons(rows)


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the HTML (default: RUN_DIR/report.html; required for several runs).",
)
@click.option(
    "--baseline",
    default=None,
    help="The comparison view's baseline: a model name or one of the run directories given "
    "(default: the first model of the first run).",
)
@click.option(
    "--max-samples",
    default=None,
    callback=_sample_cap,
    metavar="N|all",
    help="Outputs per task x model in the sample browser, the first by data order; 'all' for "
    "every output, 0 for none (default: a single run's own report.max_samples, as `evalkit run` "
    f"drew it; {BROWSER_SAMPLES:,} for several runs). The statistics always use every output.",
)
def report(
    run_dirs: tuple[Path, ...],
    output: Path | None,
    baseline: str | None,
    max_samples: int | Literal["run"] | None,
) -> None:
    """Render one self-contained HTML report of one or more runs from their stored records.

    The analysis behind it is stored (RUN_DIR/analysis.json; FILE.analysis.json beside -o FILE for
    several runs) and reused while the runs and options are unchanged.
    """
    from evalkit.analysis.stored import analysis_path, stored_analysis
    from evalkit.report.render import render_analysis
    from evalkit.store.atomicio import atomic_write_text
    from evalkit.store.run_store import REPORT_FILE

    if output is None and len(run_dirs) > 1:
        raise UserError("several runs make one report: say where to write it with -o FILE.html")
    cap = _runs_own_cap(run_dirs) if max_samples == "run" else max_samples
    where = analysis_path(run_dirs, output)
    analysis = stored_analysis(run_dirs, where, baseline=baseline, max_samples=cap)
    target = output or run_dirs[0] / REPORT_FILE
    atomic_write_text(target, render_analysis(analysis))
    click.echo(str(target))


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--baseline",
    "baseline_path",
    required=True,
    type=click.Path(path_type=Path),
    help="A run directory or a file from `evalkit baseline save`.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML thresholds: max_drop, rules: [{task, model, metric, max_drop, floor}].",
)
@click.option("--max-drop", type=float, default=None, help="Allowed drop for every metric.")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), default=None)
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), default=None)
def gate(
    run_dir: Path,
    baseline_path: Path,
    config_path: Path | None,
    max_drop: float | None,
    markdown_path: Path | None,
    junit_path: Path | None,
) -> None:
    """Fail (exit 1) only when quality dropped by more than the noise; 0 when it did not; 2 for
    any error (never 1, which CI reads as a regression).

    Prints a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set).
    """
    try:
        failed = _gate(run_dir, baseline_path, config_path, max_drop, markdown_path, junit_path)
    except (UserError, click.ClickException, click.exceptions.Abort, RunFailed):
        raise
    except Exception as exc:  # an error is exit 2 (main), never 1 = "regression"
        detail = " ".join(str(exc).split()) or "no message"
        raise UserError(f"gate failed: {type(exc).__name__}: {detail}") from exc
    if failed:
        sys.exit(1)


def _gate(
    run_dir: Path,
    baseline_path: Path,
    config_path: Path | None,
    max_drop: float | None,
    markdown_path: Path | None,
    junit_path: Path | None,
) -> bool:
    """`evalkit gate`'s work; True when a check failed."""
    import os

    from evalkit.analysis.gate import (
        GateConfig,
        junit_xml,
        load_baseline,
        markdown_summary,
        run_gate,
        snapshot_of_run,
    )
    from evalkit.store.atomicio import atomic_write_text

    config = GateConfig.load(config_path, max_drop)
    checks = run_gate(load_baseline(baseline_path), snapshot_of_run(run_dir), config)
    summary = markdown_summary(checks, str(baseline_path), str(run_dir))
    click.echo(summary, nl=False)
    if markdown_path is not None:
        atomic_write_text(markdown_path, summary)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
            handle.write(summary)
    if junit_path is not None:
        atomic_write_text(junit_path, junit_xml(checks))
    return any(c.failed for c in checks)


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Directory for leaderboard.html, .csv and .json.",
)
def leaderboard(run_dirs: Sequence[Path], output: Path) -> None:
    """Merge runs into one leaderboard (ranks with ties where CIs overlap, mean win rate)."""
    from evalkit.report.leaderboard_export import write_leaderboard

    for path in write_leaderboard(run_dirs, output):
        click.echo(str(path))


@cli.group()
def baseline() -> None:
    """Bless a run as the baseline that `evalkit gate` compares against."""


@baseline.command("save")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="The baseline file (.json, or .json.gz compressed).",
)
def baseline_save(run_dir: Path, output: Path) -> None:
    """Write RUN_DIR's per-sample scores into a baseline file to commit."""
    from evalkit.analysis.gate import save_baseline

    click.echo(str(save_baseline(run_dir, output)))


@cli.group()
def data() -> None:
    """Build evaluation datasets (clean, deduplicate, decontaminate, split, profile)."""


@data.command("build", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def data_build(args: Sequence[str]) -> None:
    """Build a dataset: [CONFIG.yaml] [key=value overrides] over DataBuildConfig's defaults.

    Writes <output>/{<split>.jsonl, removed.jsonl, clusters.jsonl, datacard.md, datacard.json,
    task.yaml}; the last line printed is the output folder, usable as `tasks=[<output>]`.
    """
    from evalkit.app.runner_loader import load_runner
    from evalkit.databuild.build import build_dataset
    from evalkit.databuild.config import DataBuildConfig

    config_file = None
    overrides = list(args)
    if overrides and "=" not in overrides[0]:
        config_file = Path(overrides.pop(0))
    composed = load_runner("data_build").compose_config(config_file, overrides)
    config = DataBuildConfig.from_dict(composed)
    card = build_dataset(config)
    flagged = card["contamination_flagged"] or "none"
    click.echo(
        f"{card['rows_read']:,} rows read, {card['rows_kept']:,} kept; removed: "
        f"{card['removed'] or 'none'}; contamination flagged: {flagged}",
        err=True,
    )
    click.echo(str(config.output))


def _tcp_port(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """A TCP port, 1-65535; anything else is a one-line UserError before the server starts."""
    if not 1 <= value <= 65535:
        raise UserError(f"--port {value}: a TCP port is a number from 1 to 65535")
    return value


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int, callback=_tcp_port)
@click.option("--db", type=click.Path(path_type=Path), help="Ratings file [RUN_DIR/studio.sqlite].")
@click.option("--rubric", default="overall_quality", show_default=True, help="Pointwise rubric.")
@click.option("--token-env", default="EVALKIT_STUDIO_TOKEN", show_default=True)
@click.option("--playground", type=click.Path(path_type=Path), help="YAML: playground models.")
@click.option(
    "--prompt-sets",
    type=click.Path(path_type=Path),
    default=Path("prompt_sets"),
    show_default=True,
    help="Where the playground saves prompt sets (task folders) and their runs.",
)
def studio(
    run_dir: Path,
    host: str,
    port: int,
    db: Path | None,
    rubric: str,
    token_env: str,
    playground: Path | None,
    prompt_sets: Path,
) -> None:
    """Review a finished run's outputs in the browser: blind ratings on a rubric's scale and
    A/B/tie preferences, by named annotators (a token is needed beyond 127.0.0.1); and a
    playground that streams several models' answers and saves prompt sets to run."""
    from evalkit.studio.commands import serve_studio

    serve_studio(run_dir, host, port, db, token_env, rubric, playground, prompt_sets)


@cli.group()
def ratings() -> None:
    """People's ratings collected with `evalkit studio` (SOURCE: the run dir or its .sqlite)."""


@ratings.command("export")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default="jsonl")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None)
@click.option("--kind", type=click.Choice(["point", "pair"]), default=None, help="One kind only.")
def ratings_export(source: Path, fmt: str, output: Path | None, kind: str | None) -> None:
    """Every rating and vote with the texts judged, one row each (stdout unless --output;
    parquet needs --output)."""
    from evalkit.studio.commands import export_ratings

    text = export_ratings(source, fmt, output, kind)
    click.echo(text if text is not None else str(output), nl=text is None)


@ratings.command("agreement")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def ratings_agreement(source: Path, as_json: bool) -> None:
    """Inter-annotator agreement on items judged more than once (Krippendorff, Cohen)."""
    from evalkit.studio.views import print_agreement

    print_agreement(source, as_json)


@ratings.command("leaderboard")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--seed", default=1234, show_default=True, type=SEED)
@click.option("--json", "as_json", is_flag=True)
def ratings_leaderboard(source: Path, seed: int, as_json: bool) -> None:
    """Bradley-Terry ratings (Elo scale, 95% bootstrap CIs) from people's A/B/tie votes."""
    from evalkit.studio.views import print_leaderboard

    print_leaderboard(source, seed, as_json)


@cli.group()
def judgments() -> None:
    """Recorded judgments (AlpacaEval annotations, MT-Bench / Arena-Hard judgment files, LLMBar
    evaluator results, evalkit JSONL): statistics without calling any model."""


@judgments.command("stats")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", required=True,
    type=click.Choice(["alpaca_eval", "mt_bench", "arena_hard", "llmbar", "evalkit"]),
)  # fmt: skip
@click.option("--baseline", default=None, help="Baseline model [the model in the most pairs].")
@click.option(
    "--lc", type=click.Choice(["none", "evalkit", "alpaca_eval"]), default="evalkit",
    show_default=True, help="Length-controlled win rate: evalkit's simple fit or AlpacaEval's GLM.",
)  # fmt: skip
@click.option("--difficulty", type=click.Path(path_type=Path), help="--lc alpaca_eval: CSV.")
@click.option("--gamed", type=click.Path(path_type=Path), help="--lc alpaca_eval: gamed rows CSV.")
@click.option("--seed", default=1234, show_default=True, type=SEED)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Also write it to FILE.")
def judgments_stats(
    paths: Sequence[Path],
    fmt: Literal["alpaca_eval", "mt_bench", "arena_hard", "llmbar", "evalkit"],
    baseline: str | None,
    lc: Literal["none", "evalkit", "alpaca_eval"],
    difficulty: Path | None,
    gamed: Path | None,
    seed: int,
    as_json: bool,
    output: Path | None,
) -> None:
    """Win rates (with standard error and bootstrap CI), length-controlled win rate,
    Bradley-Terry ratings and judge figures from recorded verdict files."""
    from evalkit.analysis.page_text import finite
    from evalkit.analysis.recorded_stats import summarize_recorded
    from evalkit.app.judge_view import print_recorded
    from evalkit.judges.recorded_judgments import read_recorded
    from evalkit.store.atomicio import atomic_write_text

    _check_stats_options(paths, lc, difficulty, gamed, output)
    recorded = read_recorded(list(paths), fmt, baseline)
    summary = summarize_recorded(
        recorded, baseline=baseline, lc=lc, difficulty=difficulty, gamed=gamed, seed=seed
    )
    # NaN and infinities have no JSON: null (a CI of one judgment, a spread of one value)
    text = json.dumps(finite(summary), indent=2, ensure_ascii=False, allow_nan=False)
    if output is not None:
        atomic_write_text(output, text + "\n")
    if as_json:
        click.echo(text)
    else:
        print_recorded(summary)


def _check_stats_options(
    paths: Sequence[Path],
    lc: str,
    difficulty: Path | None,
    gamed: Path | None,
    output: Path | None,
) -> None:
    """`judgments stats`' options that do not go together, refused before any file is read."""
    if lc == "alpaca_eval" and difficulty is None:
        raise UserError("--lc alpaca_eval needs --difficulty FILE (instruction index, difficulty)")
    if lc != "alpaca_eval" and (difficulty is not None or gamed is not None):
        raise UserError("--difficulty and --gamed are read only with --lc alpaca_eval")
    inputs = [*paths, *(p for p in (difficulty, gamed) if p is not None)]
    if output is not None and output.exists():
        same = next((p for p in inputs if p.exists() and output.samefile(p)), None)
        if same is not None:
            raise UserError(f"-o {output}: is the input file {same}; give another output file")


def main(argv: Sequence[str] | None = None) -> None:
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="evalkit",
            standalone_mode=False,
        )
    except UserError as exc:
        click.echo(f"evalkit: error: {redact(str(exc))}", err=True)
        sys.exit(2)
    except Stopped as exc:  # one line: what stopped it and, for a run, its sample counts
        terminated = isinstance(exc.interrupt, Terminated)
        what = "terminated (SIGTERM)" if terminated else "interrupted (SIGINT)"
        counts = str(exc.interrupt).partition("; ")[2]
        kept = f"{counts}; finished samples are kept" if counts else "finished samples are kept"
        click.echo(f"evalkit: {what}; {redact(kept)}", err=True)
        sys.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
    except click.exceptions.Abort:  # Ctrl-C at a prompt, before any command ran
        click.echo("evalkit: interrupted (SIGINT)", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except RunFailed as exc:
        click.echo(f"evalkit: error: {redact(str(exc))}", err=True)
        sys.exit(exc.exit_status)
    except click.UsageError as exc:  # one line, like every other user error
        where = exc.ctx.command_path if exc.ctx is not None else "evalkit"
        message = " ".join(exc.format_message().split())
        click.echo(f"evalkit: error: {message} (see '{where} --help')", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
