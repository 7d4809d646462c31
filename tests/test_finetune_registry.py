"""Fine-tuned model records, and the shipped adapter's record matching the bundled dataset."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from lib.finetune import registry
from lib.finetune.dataset import dataset_hash, load_bundled
from lib.finetune.registry import ModelRecord
from lib.generation.models import SHIPPED_ADAPTER, list_models
from lib.config import load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_names_are_safe_and_never_overwrite(isolated_data_dir: Path):
    assert registry.slugify("My tone v2!") == "my-tone-v2"
    assert registry.slugify("../../etc/passwd") == "etc-passwd"
    assert registry.slugify("!!!") == "adapter"
    folder = registry.user_dir(isolated_data_dir)
    assert registry.unique_name(isolated_data_dir, "Tone") == "tone"
    registry.save_record(folder, ModelRecord(name="tone", label="Tone"))
    (folder / "tone-2.gguf").write_bytes(b"x")
    assert registry.unique_name(isolated_data_dir, "Tone") == "tone-3"


def test_records_round_trip_and_list_in_order(isolated_data_dir: Path):
    folder = registry.user_dir(isolated_data_dir)
    late = ModelRecord(name="b", label="B", created_at="2026-11-02T00:00:00Z", steps=5,
                       hyperparameters={"lr": 0.002})
    early = ModelRecord(name="a", label="A", kind="openai", model_id="ft:x:y:z:1",
                        created_at="2026-11-01T00:00:00Z")
    for record in (late, early):
        registry.save_record(folder, record)
    assert registry.load_record(folder / "b.json") == late
    listed = registry.list_records(isolated_data_dir, include_shipped=False)
    assert [r.name for _, r in listed] == ["a", "b"]
    (folder / "junk.json").write_text("[1, 2]")
    (folder / "broken.json").write_text("{")
    extra = dict(json.loads((folder / "b.json").read_text()), future_field=1)
    (folder / "c.json").write_text(json.dumps(extra | {"name": "c"}))
    names = [r.name for _, r in registry.list_records(isolated_data_dir, include_shipped=False)]
    assert sorted(names) == ["a", "b", "c"]  # unreadable files skipped, unknown keys ignored
    registry.delete_record(isolated_data_dir, "b")
    assert not (folder / "b.json").exists()


def test_user_adapters_appear_in_the_model_switch(isolated_data_dir: Path):
    folder = registry.user_dir(isolated_data_dir)
    registry.save_record(folder, ModelRecord(name="mine", label="My tone", adapter="mine.gguf",
                                             scale=0.75))
    (folder / "mine.gguf").write_bytes(b"GGUF")
    options = list_models(load_settings())
    mine = [o.spec for o in options if o.spec.label == "Local: My tone"]
    assert mine and mine[0].adapter_scale == 0.75 and mine[0].adapter.endswith("mine.gguf")


def test_the_shipped_adapter_was_trained_from_the_bundled_dataset():
    """`make adapter` must be rerun whenever the bundled dataset changes."""
    record = registry.shipped_record()
    assert record is not None and SHIPPED_ADAPTER.is_file()
    spec = importlib.util.spec_from_file_location("train_adapter", ROOT / "scripts" / "train_adapter.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert record.dataset_hash == dataset_hash(load_bundled())
    assert (record.steps, record.seed) == (script.STEPS, script.SEED)
    assert record.adapter == SHIPPED_ADAPTER.name and record.kind == "lora"
    assert record.final_loss is not None and record.final_loss < record.hyperparameters["first_loss"]
    assert 1_000_000 < SHIPPED_ADAPTER.stat().st_size < 3_000_000
