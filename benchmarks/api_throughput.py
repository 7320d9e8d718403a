"""API throughput: 2,000 chat requests at concurrency 32 against a server that answers every
request after exactly 100 ms (ideal: 320 requests/s), evalkit vs a bare aiohttp client (and
lm-eval, when given) side by side.

The bare client is the floor of what a Python client can do: one aiohttp session, a semaphore of
32, the same chat-completions bodies evalkit sends, the answer's JSON (or its event stream) read
and nothing else done (no retries, cache, records or scoring). The variants alternate in rounds
(`--rounds`, default 3) so a busy spell hits all of them; each row is the median (min-max) of its
rounds, and evalkit's request-phase rate over the bare client's is printed per round and as the
median of those ratios.

The server is an asyncio (aiohttp) process of its own, so it takes no CPU from the client. It
records when each request arrives and when its answer leaves; the *request phase* of a client is
first arrival to last answer, measured by the server the same way for both tools. The *whole
command* is the wall time of the CLI process, start-up, scoring and writing included.

    .venv/bin/python benchmarks/api_throughput.py [--rounds 3] [--stream both|false|true]
        [--lm-eval PATH_TO_lm_eval]

lm-eval runs only when its command is given (or found on PATH); it is not a dependency of evalkit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Callable
from functools import partial
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


BARE_CLIENT = textwrap.dedent("""
    import asyncio, json, sys
    import aiohttp
    port, n, concurrency, stream = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    stream = stream == "true"
    async def one(session, gate, i):
        body = {"model": "bench", "max_tokens": 8, "temperature": 0.0, "top_p": 1.0, "n": 1,
                "seed": 0, "messages": [{"role": "user", "content": f"Say ok ({i})."}]}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        async with gate:
            async with session.post("chat/completions", json=body) as response:
                if not stream:
                    return (await response.json())["choices"][0]["message"]["content"]
                text = []
                async for line in response.content:
                    line = line.strip()
                    if line.startswith(b"data: ") and line != b"data: [DONE]":
                        for choice in json.loads(line[6:])["choices"]:
                            text.append(choice["delta"].get("content") or "")
                return "".join(text)
    async def main():
        gate = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency)
        url = f"http://127.0.0.1:{port}/v1/"
        async with aiohttp.ClientSession(base_url=url, connector=connector) as session:
            answers = await asyncio.gather(*(one(session, gate, i) for i in range(n)))
        assert all(a == "ok" for a in answers)
    asyncio.run(main())
""")


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


def evalkit_command(work: Path, data: Path, port: int, stream: bool, round_: int = 0) -> list[str]:
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
        f"run_dir={work / f'evalkit_run_{stream}_{round_}'}",
        f"cache.path={work / f'cache_{stream}_{round_}.sqlite'}",
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


def bare_command(port: int, stream: bool) -> list[str]:
    stream_arg = str(stream).lower()
    return [
        sys.executable,
        "-c",
        BARE_CLIENT,
        str(port),
        str(N_REQUESTS),
        str(CONCURRENCY),
        stream_arg,
    ]


def _bare(port: int, stream: bool, round_: int) -> list[str]:
    return bare_command(port, stream)


def rate(stats: dict[str, float]) -> float:
    return stats["n"] / (stats["last"] - stats["first"])


def spread(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return f"{statistics.median(values):{fmt}} ({low:{fmt}}-{high:{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lm-eval", default=shutil.which("lm_eval"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stream", choices=["both", "false", "true"], default="both")
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
        modes = {"both": (False, True), "false": (False,), "true": (True,)}[args.stream]
        variants: dict[str, Callable[[int], list[str]]] = {}
        for stream in modes:
            flag = str(stream).lower()
            variants[f"bare aiohttp (stream={flag})"] = partial(_bare, port, stream)
            variants[f"evalkit (stream={flag})"] = partial(
                evalkit_command, work, data, port, stream
            )
        rates: dict[str, list[float]] = {name: [] for name in variants}
        walls: dict[str, list[float]] = {name: [] for name in variants}
        for r in range(args.rounds):
            for name, command in variants.items():
                wall, stats = timed(command(r), port, env)
                assert stats["n"] == N_REQUESTS, (name, stats)
                rates[name].append(rate(stats))
                walls[name].append(wall)
        if args.lm_eval:
            wall, stats = timed(lm_eval_command(args.lm_eval, work, data, port), port, env)
            rates["lm-eval local-chat-completions"] = [rate(stats)]
            walls["lm-eval local-chat-completions"] = [wall]
        ideal = CONCURRENCY / DELAY_S
        print(
            f"{N_REQUESTS} requests, concurrency {CONCURRENCY}, {DELAY_S * 1000:.0f} ms each; "
            f"ideal {ideal:.0f} requests/s; {args.rounds} alternating rounds, median (min-max)"
        )
        print(f"{'client':32} {'request phase req/s':>24} {'x ideal':>6} {'whole cmd s':>20}")
        for name in rates:
            print(
                f"{name:32} {spread(rates[name], '.1f'):>24} "
                f"{statistics.median(rates[name]) / ideal:6.2f} {spread(walls[name], '.2f'):>20}"
            )
        for stream in (str(m).lower() for m in modes):
            ours, bare = (
                rates[f"evalkit (stream={stream})"],
                rates[f"bare aiohttp (stream={stream})"],
            )
            ratios = [o / b for o, b in zip(ours, bare, strict=True)]
            print(
                f"evalkit / bare aiohttp request phase (stream={stream}): "
                f"{statistics.median(ratios):.3f} median, per round "
                + " ".join(f"{x:.3f}" for x in ratios)
            )
        if args.lm_eval and "evalkit (stream=false)" in walls:
            ours_wall = statistics.median(walls["evalkit (stream=false)"])
            lm_wall = walls["lm-eval local-chat-completions"][0]
            print(f"evalkit whole command / lm-eval whole command: {ours_wall / lm_wall:.2f}x")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
