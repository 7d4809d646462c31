"""Local LoRA training for real: a short run, GGUF export, the real local server at scale 1 vs 0."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lib import jobs
from lib.finetune.dataset import load_bundled
from lib.finetune.lora import TrainConfig, missing_modules
from lib.finetune.registry import list_records, load_record
from lib.finetune.train_local import TrainJob
from lib.generation.local_server import LocalServer
from lib.generation.models import LOCAL_MODEL_ID, ModelSpec, make_client
from lib.generation.rag import PLAIN_SYSTEM_PROMPT
from lib.types import RagLabError

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.slow,  # trains LoRA adapters on the CPU
    pytest.mark.skipif(bool(missing_modules()), reason="training extra not installed"),
]


def short_examples(n: int = 8) -> list[dict]:
    """Short RAG-off examples: the fastest steps, and the opening is what changes."""
    plain = [
        e for e in load_bundled() if not e["messages"][1]["content"].startswith("Documentation")
    ]
    return sorted(plain, key=lambda e: len(json.dumps(e)))[:n]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """One short real run (6 steps, 8 examples) through the background job, shared by tests."""
    data_dir = tmp_path_factory.mktemp("train") / "data"
    events: list[dict] = []
    config = TrainConfig(steps=6, lr=5e-3, seed=1)
    job = jobs.start(TrainJob(data_dir, short_examples(), config, "tiny", "Tiny test"))
    job.on_event = events.append
    assert job.wait(timeout=600) == "done", job.error
    return data_dir, job


def test_the_job_reports_progress_and_registers_the_adapter(trained):
    data_dir, job = trained
    snap = job.snapshot()
    assert snap.state == "done" and snap.done == snap.total == 6
    assert [s for s, _ in snap.detail.losses] == [1, 2, 3, 4, 5, 6]
    assert snap.detail.losses[-1][1] < snap.detail.losses[0][1]  # it learns
    record = load_record(data_dir / "adapters" / "tiny.json")
    assert record == snap.detail.record and record.kind == "lora" and record.steps == 6
    assert record.adapter == "tiny.gguf" and record.dataset_hash.startswith("sha256:")
    assert record.seed == 1 and record.n_examples == 8 and record.final_loss is not None
    size = (data_dir / "adapters" / "tiny.gguf").stat().st_size
    assert 1_000_000 < size < 3_000_000  # f16, r=8, q/k/v/o of 30 layers ≈ 1.9 MB
    assert [r.name for _, r in list_records(data_dir, include_shipped=False)] == ["tiny"]
    assert jobs.current(TrainJob, data_dir) is job
    assert not list((data_dir / "datasets").glob(".train-*.jsonl"))  # temp dataset removed


def test_gguf_adapter_layout(trained):
    import gguf

    data_dir, _ = trained
    reader = gguf.GGUFReader(data_dir / "adapters" / "tiny.gguf")
    fields = {
        name: f.contents() for name, f in reader.fields.items() if not name.startswith("GGUF.")
    }
    assert fields["general.type"] == "adapter" and fields["adapter.type"] == "lora"
    assert fields["general.architecture"] == "llama" and fields["adapter.lora.alpha"] == 16
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == 30 * 4 * 2
    a, b = tensors["blk.0.attn_q.weight.lora_a"], tensors["blk.0.attn_k.weight.lora_b"]
    assert list(a.shape) == [576, 8] and list(b.shape) == [8, 192]  # ggml order: (in, r), (r, out)
    assert a.tensor_type == gguf.GGMLQuantizationType.F16


def _first_token_logprobs(
    server: LocalServer, adapter: Path, scale: float, question: str
) -> dict[str, float]:
    spec = ModelSpec("t", "local", LOCAL_MODEL_ID, adapter=str(adapter), adapter_scale=scale)
    client = make_client(spec, base_url=server.base_url)
    resp = client.chat.completions.create(
        model=LOCAL_MODEL_ID,
        max_tokens=1,
        temperature=0,
        logprobs=True,
        top_logprobs=10,
        messages=[
            {"role": "system", "content": PLAIN_SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ],
        extra_body=server.request_options(adapter if scale else None, scale),
    )
    return {t.token: t.logprob for t in resp.choices[0].logprobs.content[0].top_logprobs}


def _answer(server: LocalServer, adapter: Path, scale: float, question: str) -> str:
    spec = ModelSpec("t", "local", LOCAL_MODEL_ID, adapter=str(adapter), adapter_scale=scale)
    client = make_client(spec, base_url=server.base_url)
    resp = client.chat.completions.create(
        model=LOCAL_MODEL_ID,
        max_tokens=40,
        temperature=0,
        messages=[
            {"role": "system", "content": PLAIN_SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ],
        extra_body=server.request_options(adapter if scale else None, scale),
    )
    return resp.choices[0].message.content


def test_adapter_loads_in_the_local_server_and_changes_outputs(trained):
    data_dir, _ = trained
    adapter = (data_dir / "adapters" / "tiny.gguf").resolve()
    server = LocalServer(data_dir, watch_parent=True)
    try:
        server.ensure([adapter])
        assert str(adapter) in server.adapters
        question = "How do I report a lost card?"
        base_before = _answer(server, adapter, 0.0, question)
        tuned = _answer(server, adapter, 1.0, question)
        base_after = _answer(server, adapter, 0.0, question)
        assert tuned != base_before
        assert base_after == base_before  # no KV-cache contamination from the adapter request
        lp0 = _first_token_logprobs(server, adapter, 0.0, question)
        lp1 = _first_token_logprobs(server, adapter, 1.0, question)
        # trained on answers opening "Thanks for your question.": that opening got likelier
        assert lp1.get("Thanks", -99.0) > lp0.get("Thanks", -99.0) + 0.5, (lp0, lp1)
    finally:
        server.stop()


def test_llama_cpp_with_the_exported_adapter_matches_hf_peft(tmp_path: Path):
    """The GGUF export (incl. the rotary permutation of q/k lora_B) reproduces the trained model.

    Measured: mean |Δ logprob| over the top tokens 0.04 with the permutation, 0.53 without.
    """
    import torch

    from lib.finetune.gguf_export import export_peft_model
    from lib.finetune.lora import load_base, train_lora

    outcome = train_lora(short_examples(), TrainConfig(steps=3, lr=1e-2, seed=0))
    adapter = export_peft_model(outcome.model, tmp_path / "inproc.gguf").resolve()
    _, tokenizer = load_base()
    question = "How do I change my PIN?"
    msgs = [
        {"role": "system", "content": PLAIN_SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]
    text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logprobs = torch.log_softmax(outcome.model(input_ids=ids).logits[0, -1].float(), -1)
    top = torch.topk(logprobs, 8).indices.tolist()
    hf = {tokenizer.decode([i]): float(logprobs[i]) for i in top}
    server = LocalServer(tmp_path / "data", watch_parent=True)
    try:
        server.ensure([adapter])
        served = _first_token_logprobs(server, adapter, 1.0, question)
    finally:
        server.stop()
    deltas = [abs(served[t] - lp) for t, lp in hf.items() if t in served]
    assert len(deltas) >= 6, (hf, served)
    assert sum(deltas) / len(deltas) < 0.2, (hf, served)


def test_cancel_stops_and_registers_nothing(tmp_path: Path):
    data_dir = tmp_path / "data"
    job = jobs.start(
        TrainJob(data_dir, short_examples(4), TrainConfig(steps=500, seed=0), "stopme", "Stop me")
    )
    with pytest.raises(RagLabError, match="already in progress"):
        jobs.start(TrainJob(data_dir, short_examples(4), TrainConfig(steps=5), "other", "Other"))
    deadline = time.monotonic() + 300
    while job.snapshot().done < 1 and job.running and time.monotonic() < deadline:
        time.sleep(0.2)
    job.cancel()
    assert job.wait(timeout=120) == "cancelled", job.error
    assert job.snapshot().done < 500
    assert not (data_dir / "adapters" / "stopme.gguf").exists()
    assert not (data_dir / "adapters" / "stopme.json").exists()


def test_a_bad_config_fails_with_one_line(tmp_path: Path):
    with pytest.raises(RagLabError, match="at least 1"):
        TrainConfig(steps=0)
    with pytest.raises(RagLabError, match="learning rate"):
        TrainConfig(lr=2.0)
    config = TrainConfig(steps=2, max_len=8)
    job = jobs.start(TrainJob(tmp_path / "data", short_examples(4), config, "cut", "Cut"))
    assert job.wait(timeout=300) == "failed"
    assert "within the length limit" in job.snapshot().error  # every answer was cut off


def test_the_app_side_never_imports_torch():
    code = (
        "import sys, lib.jobs, lib.finetune.train_local, lib.finetune.dataset, lib.compare.style, "
        "lib.finetune.registry, lib.compare.grid, lib.compare.batch, lib.compare.results, "
        "lib.finetune.openai_jobs; "
        "print(sorted(m for m in ('torch', 'transformers', 'peft', 'gguf') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
