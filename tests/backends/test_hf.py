"""Backend `hf` on tiny real models (Llama-, GPT-2- and T5-shaped), loaded from disk by path."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from evalkit.backends.hf import HFBackend, _cut_at_stop, build_hf_backends  # noqa: E402
from evalkit.backends.hf_loading import HFOptions  # noqa: E402
from evalkit.errors import UserError  # noqa: E402
from evalkit.testing.tiny_models import PROMPTS, build_causal, build_seq2seq  # noqa: E402
from evalkit.types import ChatMessage, GenerationParams, Request  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {
        "llama": build_causal(root / "llama"),
        "gpt2": build_causal(root / "gpt2", "gpt2"),
        "t5": build_seq2seq(root / "t5"),
        "draft": build_causal(root / "draft", seed=1),
        "plain": build_causal(root / "plain", chat_template=None),
    }


def requests(*prompts: str, **params) -> list[Request]:
    p = GenerationParams(max_new_tokens=params.pop("max_new_tokens", 12), **params)
    return [
        Request(
            task="t", sample_id=str(i), messages=[ChatMessage(role="user", content=x)], params=p
        )
        for i, x in enumerate(prompts)
    ]


def backend(path, **options) -> HFBackend:
    return HFBackend("m", HFOptions(path=str(path), device="cpu", **options))


@pytest.mark.parametrize("kind", ["llama", "gpt2", "t5"])
def test_batched_greedy_equals_one_by_one(models, kind):
    b = backend(models[kind], batch_check=len(PROMPTS), max_batch_size=4)
    batched = b.generate(requests(*PROMPTS))
    alone = [backend(models[kind]).generate(requests(p))[0] for p in PROMPTS]
    assert [g.text for g in batched] == [g.text for g in alone]
    assert b.report()["batch_sensitivity"] == {"checked": len(PROMPTS), "identical": len(PROMPTS)}
    again = b.generate(requests(*PROMPTS))
    assert [g.text for g in again] == [g.text for g in batched]  # greedy is deterministic


def test_batches_are_length_sorted_under_the_token_budget(models):
    b = backend(models["llama"], batch_tokens=40, max_batch_size=3)
    lengths = [5, 30, 6, 12, 7, 13, 8]
    params = [GenerationParams()] * len(lengths)
    batches = b.batches(lengths, params)
    assert [lengths[i] for batch in batches for i in batch] == sorted(lengths)
    for batch in batches:
        padded = max(lengths[i] for i in batch) * len(batch)
        assert len(batch) == 1 or (len(batch) <= 3 and padded <= 40)
    mixed = b.batches([5, 5], [GenerationParams(), GenerationParams(max_new_tokens=3)])
    assert len(mixed) == 2  # different generation params never share a batch


def test_outputs_come_back_in_input_order_with_measurements(models):
    b = backend(models["llama"])
    out = b.generate(requests(*PROMPTS))
    for prompt, g in zip(PROMPTS, out, strict=True):
        assert g == backend(models["llama"]).generate(requests(prompt))[0].model_copy(
            update={"latency_s": g.latency_s, "time_to_first_token_s": g.time_to_first_token_s}
        )
        assert 0 < g.time_to_first_token_s <= g.latency_s
        assert g.output_tokens == 12 and g.finish_reason in ("length", "stop")
    report = b.report()
    assert report["tokens_per_s"] > 0 and report["peak_rss_mb"] > 0


def test_stop_sequences_cut_the_text(models):
    b = backend(models["llama"])
    [free] = b.generate(requests("the cat", max_new_tokens=20))
    assert len(free.text) >= 6
    stop = free.text[3:5]
    [stopped] = b.generate(requests("the cat", max_new_tokens=20, stop=[stop]))
    assert stopped.text == free.text[: free.text.find(stop)] and stopped.finish_reason == "stop"
    assert _cut_at_stop("abcXYdef", ["Y", "XY"]) == "abc"


def test_chat_template_is_used(models):
    with_template = backend(models["llama"])
    text = with_template.prompt_text([ChatMessage(role="user", content="hi")])
    assert text == "<|user|> hi <|assistant|>"
    plain = backend(models["plain"])
    assert plain.prompt_text([ChatMessage(role="user", content="hi")]) == "hi"
    configured = backend(models["plain"], chat_template="[{{ messages[0]['content'] }}]")
    assert configured.prompt_text([ChatMessage(role="user", content="hi")]) == "[hi]"
    assert "template:configured" in configured.signature()


def test_int8_on_cpu_runs_and_is_recorded(models):
    b = backend(models["llama"], quantization="int8")
    assert "quantization:int8" in b.signature()
    assert any(
        type(m).__module__.startswith("torch.ao.nn.quantized.dynamic") for m in b.model.modules()
    )
    out = b.generate(requests(*PROMPTS[:3]))
    assert all(g.output_tokens == 12 for g in out)
    assert b.report()["quantized_layers"] == 2 * 7 + 1  # q, k, v, o, gate, up, down + lm_head


def test_torchao_weight_only_int8_replaces_linear_weights(models):
    """The GPU int8 path's torchao call, run where torchao runs it too: on CPU tensors."""
    pytest.importorskip("torchao")
    from transformers import AutoModelForCausalLM

    from evalkit.backends.hf_loading import torchao_weight_only

    model = AutoModelForCausalLM.from_pretrained(models["llama"]).eval()
    assert torchao_weight_only(model, "int8") == 2 * 7 + 1
    with torch.inference_mode():
        out = model.generate(torch.tensor([[5, 6, 7]]), max_new_tokens=4, do_sample=False)
    assert out.shape == (1, 7)


def test_int4_on_cpu_is_refused(models):
    with pytest.raises(UserError, match="int4 needs a CUDA GPU"):
        backend(models["llama"], quantization="int4")


def test_speculative_decoding_gives_the_same_greedy_output(models):
    plain = backend(models["llama"]).generate(requests(*PROMPTS[:4]))
    assisted_backend = backend(models["llama"], draft=str(models["draft"]))
    assisted = assisted_backend.generate(requests(*PROMPTS[:4]))
    assert [g.text for g in assisted] == [g.text for g in plain]
    assert f"draft:{models['draft']}" in assisted_backend.signature()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "/no/such/model"}, "/no/such/model: model directory not found"),
        ({"path": "x", "dtype": "fp8"}, "model (hf): dtype: Input should be"),
    ],
)
def test_loading_errors_are_user_errors(options, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_hf_backends("m", options, None)


def test_directory_without_weights(tmp_path, models):
    (tmp_path / "config.json").write_text((models["llama"] / "config.json").read_text())
    with pytest.raises(UserError, match="cannot load"):
        build_hf_backends("m", {"path": str(tmp_path)}, None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_asked_for_without_cuda(models):
    with pytest.raises(UserError, match="no CUDA device is available"):
        build_hf_backends("m", {"path": str(models["llama"]), "device": "cuda"}, None)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_static_engine_replays_cuda_graphs_with_generates_output(tmp_path):
    # float32 and sharp logits (a wide initialisation): two correct decoders that use different
    # attention kernels must not part on a near tie
    path = build_causal(tmp_path / "sharp", sizes={"initializer_range": 0.5})
    options = {"path": str(path), "device": "cuda", "dtype": "fp32", "max_batch_size": 3}
    reference = HFBackend("m", HFOptions(**options)).generate(requests(*PROMPTS))
    static = HFBackend("m", HFOptions(**options, engine="static"))
    out = static.generate(requests(*PROMPTS))
    assert [g.text for g in out] == [g.text for g in reference]
    again = static.generate(requests(*PROMPTS))  # replays the captured graphs
    assert [g.text for g in again] == [g.text for g in reference]
    engine = static.report()["engine"]
    assert engine["cuda_graphs"] is True and 1 <= engine["graph_captures"] <= 3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("quantization", ["none", "int8", "int4"])
def test_gpu_paths(models, tmp_path, quantization):
    # int4 groups 128 input features: a model whose Linear inputs are multiples of 128
    path = build_causal(tmp_path / "llama128", sizes={"hidden_size": 128, "intermediate_size": 256})
    b = HFBackend(
        "m",
        HFOptions(
            path=str(path),
            device="cuda",
            dtype="bf16",
            quantization=quantization,
            batch_check=4,
        ),
    )
    b.generate(requests(*PROMPTS))
    report = b.report()
    assert report["peak_gpu_allocated_mb"] > 0
    assert report["batch_sensitivity"]["checked"] == 4
    assert report.get("quantized_layers", 0) == (0 if quantization == "none" else 2 * 7 + 1)


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_static_engine_gives_generates_greedy_output(models, kind):
    """Across a cache-block boundary too (prompt + 150 new tokens > CACHE_BLOCK)."""
    for max_new_tokens in (1, 12, 150):
        reference = backend(models[kind], max_batch_size=4).generate(
            requests(*PROMPTS, max_new_tokens=max_new_tokens)
        )
        static = backend(models[kind], engine="static", max_batch_size=4)
        out = static.generate(requests(*PROMPTS, max_new_tokens=max_new_tokens))
        assert [g.text for g in out] == [g.text for g in reference]
        assert [g.output_tokens for g in out] == [g.output_tokens for g in reference]
        assert all(0 < g.time_to_first_token_s <= g.latency_s for g in out)
    assert "|engine:static|" in static.signature()
    assert "engine" not in backend(models[kind]).signature()  # old signatures stay valid
    engine = static.report()["engine"]
    assert engine["static_batches"] == 2 and engine["cuda_graphs"] is False


def test_static_engine_sampled_requests_use_generate(models):
    sampled = {"temperature": 0.9, "seed": 3, "max_new_tokens": 10}
    static = backend(models["llama"], engine="static")
    out = static.generate(requests(*PROMPTS[:3], **sampled))
    reference = backend(models["llama"]).generate(requests(*PROMPTS[:3], **sampled))
    assert [g.text for g in out] == [g.text for g in reference]
    assert static.report()["engine"]["static_batches"] == 0


def test_static_engine_with_int8_on_cpu(models):
    b = backend(models["llama"], engine="static", quantization="int8")
    out = b.generate(requests(*PROMPTS[:3]))
    assert all(g.output_tokens == 12 for g in out)
    assert "quantization:int8|engine:static" in b.signature()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "t5"}, "supports causal models only"),
        ({"draft": "draft"}, "choose one"),
        ({"repetition_penalty": 1.3}, "sets repetition_penalty=1.3"),
    ],
)
def test_static_engine_refuses_what_it_would_decode_differently(models, tmp_path, options, message):
    path = models[options.get("kind", "llama")]
    extra = {"draft": str(models["draft"])} if "draft" in options else {}
    if "repetition_penalty" in options:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(path)
        model.generation_config.repetition_penalty = options["repetition_penalty"]
        path = tmp_path / "penalised"
        model.save_pretrained(path)
        AutoTokenizer.from_pretrained(models["llama"]).save_pretrained(path)
    with pytest.raises(UserError, match=message):
        backend(path, engine="static", **extra)


def sweep(run_cli, models, qa_task, tmp_path, *overrides: str) -> list:
    """`evalkit run -m` over the tiny Llama on the QA task; the run directories, in job order."""
    out = run_cli(
        "run",
        "-m",
        f"tasks=[{qa_task}]",
        "model=hf",
        f"model.path={models['llama']}",
        *overrides,
        "limit=6",
        f"sweep_dir={tmp_path / 'sweep'}",
        "progress=false",
    )
    assert out.returncode == 0, out.stderr
    return sorted(p.parent for p in (tmp_path / "sweep").glob("*/run.json"))


def test_quantization_sweep_gives_side_by_side_runs(models, qa_task, tmp_path, run_cli):
    import json

    runs = sweep(
        run_cli, models, qa_task, tmp_path, "model.quantization=none,int8", "model.batch_check=3"
    )
    records = [json.loads((r / "run.json").read_text()) for r in runs]
    signatures = [r["backends"][0]["signature"] for r in records]
    assert len(runs) == 2 and "quantization:none" in signatures[0]
    assert "quantization:int8" in signatures[1]
    reports = [r["backend_reports"][r["backends"][0]["name"]] for r in records]
    assert reports[0]["batch_sensitivity"] == {"checked": 3, "identical": 3}
    # dynamic int8 scales activations per batch tensor, so it may not be batch-invariant:
    # the check measures that rather than assuming it
    assert reports[1]["batch_sensitivity"]["checked"] == 3
    for record, report in zip(records, reports, strict=True):
        assert report["tokens_per_s"] > 0
        assert record["usage"][0]["latency_p50_s"] > 0


def test_engine_sweep_gives_identical_greedy_runs(models, qa_task, tmp_path, run_cli):
    import json

    from evalkit.store.run_store import RunStore

    runs = sweep(run_cli, models, qa_task, tmp_path, "model.engine=generate,static")
    records = [json.loads((r / "run.json").read_text()) for r in runs]
    signatures = [record["backends"][0]["signature"] for record in records]
    assert len(runs) == 2 and "engine" not in signatures[0] and "|engine:static|" in signatures[1]
    outputs = [
        {rec.sample_id: rec.generation.text for rec in RunStore(r).latest_records()} for r in runs
    ]
    assert len(outputs[0]) == 6 and outputs[0] == outputs[1]
    static_report = records[1]["backend_reports"][records[1]["backends"][0]["name"]]
    assert static_report["engine"]["static_batches"] >= 1
