"""The install-time Q8_0 copy of the local model: built faithfully, used when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lib.generation.model_files import (
    build_converted_model,
    converted_model_path,
    model_path,
    shipped_model_path,
)

pytestmark = pytest.mark.slow  # builds the Q8_0 model file

gguf = pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_converted_model(tmp_path_factory.mktemp("models"))


def test_q4_1_tensors_become_q8_0_and_everything_else_is_copied(built: Path) -> None:
    T = gguf.GGMLQuantizationType
    src, out = gguf.GGUFReader(shipped_model_path()), gguf.GGUFReader(built)
    assert [t.name for t in out.tensors] == [t.name for t in src.tensors]
    for a, b in zip(src.tensors, out.tensors, strict=True):
        assert list(b.shape) == list(a.shape)
        assert b.tensor_type == (T.Q8_0 if a.tensor_type == T.Q4_1 else a.tensor_type)
        if a.tensor_type != T.Q4_1:
            assert np.array_equal(np.asarray(a.data), np.asarray(b.data))
        elif a.name == "blk.0.attn_q.weight":  # requantising loses almost nothing
            x = gguf.quants.dequantize(a.data, a.tensor_type)
            y = gguf.quants.dequantize(b.data, b.tensor_type)
            assert np.abs(x - y).max() <= np.abs(x).max() / 100
    for name, field in src.fields.items():
        if name.startswith("GGUF.") or name == "general.file_type":
            continue
        assert out.fields[name].contents() == field.contents(), name
    assert out.fields["general.file_type"].contents() == int(gguf.LlamaFileType.MOSTLY_Q8_0)


def test_build_is_cached(built: Path) -> None:
    assert build_converted_model(built.parent).stat().st_mtime == built.stat().st_mtime
    assert built == converted_model_path(built.parent)


def test_model_path_prefers_the_built_file_and_falls_back_to_the_shipped_one(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGLAB_MODEL_CACHE", str(built.parent))
    assert model_path() == built
    monkeypatch.setenv("RAGLAB_MODEL_CACHE", str(tmp_path / "empty"))
    assert model_path() == shipped_model_path()
