"""evalkit vs lm-evaluation-harness on lm-eval's own task YAMLs and the same tiny local model.

    python benchmarks/lmeval_side_by_side.py --lmeval-python /work/benchenv/bin/python

Runs with evalkit's interpreter; lm-eval runs in its own environment (`--lmeval-python`, a venv
with lm-eval 0.4.13, never a dependency of evalkit), in a subprocess of this same file
(`--lmeval-worker`). The task YAMLs are lm-eval's, taken at run time from that installation
(`lm_eval/tasks/...`: gsm8k, gsm8k-cot, nq_open, bbh cot_fewshot boolean_expressions) and copied
into a temporary folder where only `dataset_path` / `dataset_name` are replaced by the small local
data of tests/data/lmeval (`dataset_path: json` + `data_files`); `nq_open_2shot` is evalkit's
`include` of that nq_open with 2 few-shot examples. Nothing of lm-eval is kept in this repository.
Both sides get the same tiny random-init Llama (tokenizer trained with `tokenizers` on the tasks'
text, saved to disk; no chat template): lm-eval through `lm_eval.simple_evaluate(model="hf",
log_samples=True, batch_size=1)`, evalkit through `evalkit run tasks=[lmeval:YAML] model=hf`. It
compares, per document, the prompt, the greedy generation and exact_match under every filter
pipeline, prints the counts of identical ones, and the wall-time ratio (each side timed end to end
as a fresh process: imports, model load, generation, scoring; evalkit's response cache starts
empty). Exit status 1 on any difference.

`--record-prompts OUT` (run by the lm-eval interpreter) instead writes lm-eval's rendering of every
prompt and target of evalkit's own test YAMLs in tests/data/lmeval: golden_prompts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "lmeval"
OURS = {  # evalkit's test YAMLs (tests/data/lmeval) -> file, for --record-prompts
    "arith": DATA / "arith.yaml",
    "arith_steps": DATA / "arith_steps.yaml",
    "trivia": DATA / "trivia.yaml",
    "trivia_2shot": DATA / "trivia_2shot.yaml",
    "bool_eval": DATA / "logic" / "bool_eval.yaml",
}
GSM8K = {"train": "gsm8k_train.jsonl", "test": "gsm8k_test.jsonl"}
NQ = {"train": "nq_open_train.jsonl", "validation": "nq_open_validation.jsonl"}
LMEVAL_FILES: list[tuple[str, str, dict[str, str] | None]] = [
    # (file under lm_eval/tasks, where it goes in the task folder, local data_files or None:
    #  dataset lines dropped only, the included template gives the data)
    ("gsm8k/gsm8k.yaml", "gsm8k.yaml", GSM8K),
    ("gsm8k/gsm8k-cot.yaml", "gsm8k-cot.yaml", {"test": GSM8K["test"]}),
    ("nq_open/nq_open.yaml", "nq_open.yaml", NQ),
    ("bbh/cot_fewshot/_cot_fewshot_template_yaml", "bbh/_cot_fewshot_template_yaml",
     {"test": "boolean_expressions_test.jsonl"}),
    ("bbh/cot_fewshot/boolean_expressions.yaml", "bbh/boolean_expressions.yaml", None),
]  # fmt: skip
LOCAL_DATA = {  # tests/data/lmeval file -> where it goes in the task folder
    "gsm8k_train.jsonl": "gsm8k_train.jsonl",
    "gsm8k_test.jsonl": "gsm8k_test.jsonl",
    "nq_open_train.jsonl": "nq_open_train.jsonl",
    "nq_open_validation.jsonl": "nq_open_validation.jsonl",
    "logic/bool_test.jsonl": "bbh/boolean_expressions_test.jsonl",
}
TASKS = {  # task name -> YAML in the task folder (its folder is where lm-eval resolves data)
    "gsm8k": "gsm8k.yaml",
    "gsm8k_cot": "gsm8k-cot.yaml",
    "nq_open": "nq_open.yaml",
    "nq_open_2shot": "nq_open_2shot.yaml",
    "bbh_cot_fewshot_boolean_expressions": "bbh/boolean_expressions.yaml",
}
NQ_2SHOT = "include: nq_open.yaml\ntask: nq_open_2shot\nnum_fewshot: 2\n"  # evalkit's variant


def lmeval_tasks_dir(python: str) -> Path:
    """`lm_eval/tasks` of the lm-eval installation of interpreter `python`."""
    code = "import lm_eval, os; print(os.path.dirname(lm_eval.__file__))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return Path(done.stdout.strip()) / "tasks"


def localize(text: str, data_files: dict[str, str] | None) -> str:
    """An lm-eval task YAML with `dataset_path` / `dataset_name` replaced by local JSON lines."""
    if re.search(r"^dataset_kwargs:", text, re.M):
        raise ValueError("dataset_kwargs already set: localize cannot replace it")
    lines = [x for x in text.splitlines() if not re.match(r"dataset_(path|name):", x)]
    if data_files is not None:
        lines += ["dataset_path: json", "dataset_kwargs:", "  data_files:"]
        lines += [f"    {split}: {name}" for split, name in data_files.items()]
    return "\n".join(lines) + "\n"


def prepare_tasks(python: str, folder: Path) -> Path:
    """lm-eval's task YAMLs, from `python`'s installation, pointed at tests/data/lmeval's data."""
    source = lmeval_tasks_dir(python)
    for relative, target, data_files in LMEVAL_FILES:
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(localize((source / relative).read_text(encoding="utf-8"), data_files))
    for relative, target in LOCAL_DATA.items():
        shutil.copy(DATA / relative, folder / target)
    (folder / TASKS["nq_open_2shot"]).write_text(NQ_2SHOT, encoding="utf-8")
    return folder


def build_model(directory: Path, tasks: Path) -> Path:
    """A tiny random Llama whose BPE tokenizer is trained on the text of the task folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast

    corpus = [p.read_text(encoding="utf-8") for p in sorted(tasks.rglob("*")) if p.is_file()]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200,
        special_tokens=["<pad>", "<s>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        unk_token="<unk>",
    )  # fmt: skip
    fast.save_pretrained(directory)
    config = AutoConfig.for_model(
        "llama", vocab_size=len(fast), hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=8192, bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(directory)
    return directory


# ---- lm-eval side (runs in the lm-eval environment) -------------------------------------------


def lmeval_worker(
    model_dir: str, out: str, tasks: Path, names: list[str], limit: int | None
) -> None:
    import lm_eval
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    found: dict[str, Any] = {}
    for name in names:
        os.chdir((tasks / TASKS[name]).parent)  # lm-eval resolves data_files against the cwd
        manager = TaskManager(include_path=str(tasks), include_defaults=False)
        result = lm_eval.simple_evaluate(
            model="hf", model_args=f"pretrained={model_dir},dtype=float32", tasks=[name],
            batch_size=1, device="cpu", log_samples=True, task_manager=manager, limit=limit,
        )  # fmt: skip
        assert result is not None
        rows: dict[str, Any] = {}
        for entry in result["samples"][name]:
            doc = rows.setdefault(str(entry["doc_id"]), {"em": {}})
            arguments = entry["arguments"]  # [[context, gen_kwargs]] (older: a dict of them)
            doc["prompt"] = (
                arguments[0][0] if isinstance(arguments, list) else arguments["gen_args_0"]["arg_0"]
            )
            doc["generation"] = entry["resps"][0][0]
            doc["em"][entry["filter"]] = float(entry["exact_match"])
        found[name] = rows
    Path(out).write_text(json.dumps({"wall_s": time.perf_counter() - start, "tasks": found}))


def record_prompts(out: str, names: list[str]) -> None:
    """lm-eval's own rendering of every document's prompt and target (no model needed), as
    tests/data/lmeval/golden_prompts.json keeps it for the importer's unit tests."""
    from lm_eval.tasks import TaskManager, get_task_dict

    golden: dict[str, Any] = {}
    for name in names:
        os.chdir(OURS[name].parent)
        task = get_task_dict([name], TaskManager(include_path=str(DATA), include_defaults=False))
        task_obj = task[name]
        task_obj.set_fewshot_seed(1234)  # simple_evaluate's default fewshot_random_seed
        task_obj.build_all_requests(rank=0, world_size=1)
        golden[name] = {
            str(i.doc_id): {"prompt": i.arguments[0], "target": task_obj.doc_to_target(i.doc)}
            for i in task_obj.instances
        }
    Path(out).write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")


# ---- evalkit side ------------------------------------------------------------------------------


def run_evalkit(
    model_dir: Path, work: Path, tasks: Path, names: list[str], batch: int, limit: int | None
) -> tuple[dict[str, Any], float]:
    refs = ",".join(f"lmeval:{tasks / TASKS[n]}" for n in names)
    run_dir = work / f"evalkit_run_b{batch}"
    env = {
        **os.environ,
        "EVALKIT_CACHE_DIR": str(work / f"cache_b{batch}"),
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable, "-m", "evalkit", "-q", "run", f"tasks=[{refs}]", "model=hf",
        f"model.path={model_dir}", "model.dtype=fp32", "model.device=cpu",
        f"model.max_batch_size={batch}", f"run_dir={run_dir}",
    ] + ([f"limit={limit}"] if limit else [])  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    from evalkit.store.run_store import RunStore

    found: dict[str, Any] = {}
    for record in RunStore(run_dir).records():
        doc_id = record.sample_id.rsplit("-", 1)[1]  # "<split>-<doc index>"
        em = {s.name.removeprefix("exact_match").lstrip("_") or "none": s.value
              for s in record.scores if s.name.startswith("exact_match")}  # fmt: skip
        found.setdefault(record.task, {})[doc_id] = {
            "prompt": record.request.messages[-1].content,
            "generation": record.generation.text,
            "em": em,
        }
    return found, wall


def compare(lm: dict[str, Any], ek: dict[str, Any]) -> dict[str, int]:
    counts = {"docs": 0, "prompts": 0, "generations": 0, "em_values": 0, "em_same": 0}
    for name, docs in lm.items():
        for doc_id, want in docs.items():
            got = ek.get(name, {}).get(doc_id)
            counts["docs"] += 1
            if got is None:
                print(f"  {name} doc {doc_id}: missing in evalkit")
                continue
            counts["prompts"] += got["prompt"] == want["prompt"]
            counts["generations"] += got["generation"] == want["generation"]
            for pipeline, value in want["em"].items():
                counts["em_values"] += 1
                counts["em_same"] += got["em"].get(pipeline) == value
            if got["prompt"] != want["prompt"] or got["generation"] != want["generation"]:
                print(f"  {name} doc {doc_id}: differs "
                      f"(prompt {got['prompt'] == want['prompt']}, "
                      f"generation {got['generation'] == want['generation']})")  # fmt: skip
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lmeval-python", default="/work/benchenv/bin/python")
    parser.add_argument("--lmeval-worker", nargs=3, metavar=("MODEL_DIR", "OUT", "TASK_DIR"))
    parser.add_argument("--tasks", default=None, help="comma-separated (default: all)")
    parser.add_argument("--record-prompts", metavar="OUT", help="(lm-eval env) write prompts")
    parser.add_argument("--batch", type=int, default=1, help="evalkit's model.max_batch_size")
    parser.add_argument("--limit", type=int, default=None, help="first N documents of each task")
    args = parser.parse_args()
    if args.record_prompts:
        record_prompts(args.record_prompts, args.tasks.split(",") if args.tasks else list(OURS))
        return 0
    names = args.tasks.split(",") if args.tasks else list(TASKS)
    if args.lmeval_worker:
        model, out_file, task_dir = args.lmeval_worker
        lmeval_worker(model, out_file, Path(task_dir), names, args.limit)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tasks = prepare_tasks(args.lmeval_python, work / "tasks")
        model_dir = build_model(work / "model", tasks)
        out = work / "lmeval.json"
        start = time.perf_counter()
        subprocess.run(
            [args.lmeval_python, __file__, "--lmeval-worker", str(model_dir), str(out),
             str(tasks), "--tasks", ",".join(names)]
            + (["--limit", str(args.limit)] if args.limit else []),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        lm_wall = time.perf_counter() - start
        lm = json.loads(out.read_text())["tasks"]
        ek, ek_wall = run_evalkit(model_dir, work, tasks, names, args.batch, args.limit)
    counts = compare(lm, ek)
    print(
        f"{counts['docs']} documents in {len(names)} tasks: prompts identical "
        f"{counts['prompts']}/{counts['docs']}, greedy generations identical "
        f"{counts['generations']}/{counts['docs']}, exact_match identical "
        f"{counts['em_same']}/{counts['em_values']} (document x filter)"
    )
    ratio = ek_wall / lm_wall
    print(f"wall time: lm-eval {lm_wall:.1f} s, evalkit {ek_wall:.1f} s")
    print(f"evalkit/lm-eval wall-time ratio {ratio:.2f} (evalkit max_batch_size={args.batch})")
    same = counts["prompts"] == counts["generations"] == counts["docs"]
    return 0 if same and counts["em_same"] == counts["em_values"] else 1


if __name__ == "__main__":
    sys.exit(main())
