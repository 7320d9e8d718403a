"""API throughput: 2,000 chat requests at concurrency 32 against a server that answers every
request after exactly 100 ms (ideal: 320 requests/s), evalkit vs lm-eval side by side.

The server is an asyncio (aiohttp) process of its own, so it takes no CPU from the client. It
records when each request arrives and when its answer leaves; the *request phase* of a client is
first arrival to last answer, measured by the server the same way for both tools. The *whole
command* is the wall time of the CLI process, start-up, scoring and writing included.

    .venv/bin/python benchmarks/api_throughput.py [--lm-eval PATH_TO_lm_eval]

lm-eval runs only when its command is given (or found on PATH); it is not a dependency of evalkit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

N_REQUESTS = 2000
CONCURRENCY = 32
DELAY_S = 0.100

SERVER = textwrap.dedent("""
    import asyncio, json, sys, time
    from aiohttp import web
    stats = {"n": 0, "first": None, "last": None}
    async def chat(request):
        arrived = time.monotonic()
        body = await request.json()
        stats["first"] = arrived if stats["first"] is None else min(stats["first"], arrived)
        await asyncio.sleep(%(delay)r)
        text = "ok"
        usage = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
        stats["n"] += 1
        stats["last"] = time.monotonic()
        if body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for chunk in ({"choices": [{"index": 0, "delta": {"content": text}}]},
                          {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                          {"choices": [], "usage": usage}):
                await resp.write(("data: " + json.dumps(chunk) + "\\n\\n").encode())
            await resp.write(b"data: [DONE]\\n\\n")
            return resp
        return web.json_response({"id": "x", "object": "chat.completion", "created": 0,
            "model": "bench", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": text}}], "usage": usage})
    async def get_stats(request):
        out = dict(stats)
        stats.update(n=0, first=None, last=None)
        return web.json_response(out)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/stats", get_stats)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""") % {"delay": DELAY_S}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_stats(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as response:
        return dict(json.load(response))


def write_data(work: Path) -> Path:
    data = work / "questions.jsonl"
    with data.open("w") as handle:
        for i in range(N_REQUESTS):
            handle.write(
                json.dumps({"id": f"q{i}", "question": f"Say ok ({i}).", "answer": "ok"}) + "\n"
            )
    return data


def evalkit_command(work: Path, data: Path, port: int, stream: bool) -> list[str]:
    task = work / "evalkit_task"
    task.mkdir(exist_ok=True)
    (task / "task.yaml").write_text(
        f"name: api_bench\nversion: 1\ndata: {data}\n"
        "fields: {id: id, input: question, references: answer}\n"
        "generation: {max_new_tokens: 8}\nscorers: {exact_match: {}}\n"
    )
    evalkit = str(Path(sys.executable).parent / "evalkit")
    return [
        evalkit,
        "run",
        f"tasks=[{task}]",
        "model=openai",
        f"model.base_url=http://127.0.0.1:{port}/v1",
        "model.model=bench",
        "model.api_key_env=null",
        f"model.max_concurrency={CONCURRENCY}",
        f"model.stream={stream}",
        f"batch_size={N_REQUESTS // 4}",
        f"run_dir={work / f'evalkit_run_{stream}'}",
        f"cache.path={work / f'cache_{stream}.sqlite'}",
        "progress=false",
    ]


def lm_eval_command(lm_eval: str, work: Path, data: Path, port: int) -> list[str]:
    tasks = work / "lm_eval_tasks"
    tasks.mkdir()
    (tasks / "api_bench.yaml").write_text(
        textwrap.dedent(f"""\
        task: api_bench
        dataset_path: json
        dataset_kwargs:
          data_files: {{test: {data}}}
        test_split: test
        output_type: generate_until
        doc_to_text: "{{{{question}}}}"
        doc_to_target: "{{{{answer}}}}"
        generation_kwargs: {{max_gen_toks: 8, until: []}}
        metric_list:
          - metric: exact_match
        """)
    )
    return [
        lm_eval,
        "--model",
        "local-chat-completions",
        "--model_args",
        f"base_url=http://127.0.0.1:{port}/v1/chat/completions,model=bench,"
        f"num_concurrent={CONCURRENCY},max_retries=3,tokenized_requests=False",
        "--tasks",
        "api_bench",
        "--include_path",
        str(tasks),
        "--apply_chat_template",
        "--output_path",
        str(work / "lm_eval_out"),
    ]


def timed(command: list[str], port: int, env: dict[str, str]) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{out.stderr[-3000:]}")
    return wall, server_stats(port)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lm-eval", default=shutil.which("lm_eval"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="evalkit-api-bench-"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OPENAI_API_KEY": "unused",
        "EVALKIT_CACHE_DIR": str(work),
    }
    try:
        for _ in range(100):
            try:
                server_stats(port)
                break
            except OSError:
                time.sleep(0.1)
        data = write_data(work)
        rows = []
        for stream in (False, True):  # lm-eval does not stream: stream=false is like for like
            wall, stats = timed(evalkit_command(work, data, port, stream), port, env)
            rows.append((f"evalkit (stream={str(stream).lower()})", wall, stats))
        if args.lm_eval:
            wall, stats = timed(lm_eval_command(args.lm_eval, work, data, port), port, env)
            rows.append(("lm-eval local-chat-completions", wall, stats))
        ideal = CONCURRENCY / DELAY_S
        print(
            f"{N_REQUESTS} requests, concurrency {CONCURRENCY}, {DELAY_S * 1000:.0f} ms each; "
            f"ideal {ideal:.0f} requests/s"
        )
        print(f"{'client':32} {'served':>6} {'req/s':>7} {'x ideal':>8} {'whole cmd s':>12}")
        for name, wall, stats in rows:
            rate = stats["n"] / (stats["last"] - stats["first"])
            print(f"{name:32} {stats['n']:6.0f} {rate:7.1f} {rate / ideal:8.2f} {wall:12.2f}")
        if args.lm_eval:
            print(f"evalkit whole command / lm-eval whole command: {rows[0][1] / rows[-1][1]:.2f}x")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
