"""Settings chosen on the Evaluate page: persisted, read back, used by Chat's RagSettings."""

from __future__ import annotations

import json

import pytest

from lib.generation.rag import DEFAULT_MIN_CONFIDENCE, RagSettings
from lib.retrieval.fusion import FusionMode, FusionSettings
from lib.tuning import (
    TUNED_VERSION,
    app_fusion,
    app_min_confidence,
    apply_tuned,
    load_tuned,
    save_fusion,
    save_min_confidence,
    tuned_path,
)
from lib.types import RagLabError


def test_defaults_without_a_file(tmp_path):
    assert app_fusion(tmp_path) == FusionSettings()
    assert app_min_confidence(tmp_path) == DEFAULT_MIN_CONFIDENCE
    assert apply_tuned(tmp_path, RagSettings(k=3)) == RagSettings(k=3)


def test_fusion_and_threshold_persist_independently(tmp_path):
    chosen = FusionSettings(mode="rrf", rrf_k=20, depth=40)
    save_fusion(tmp_path, chosen, "sweep of RRF k on scifact")
    save_min_confidence(tmp_path, 0.31, "curve on samples")
    assert app_fusion(tmp_path) == chosen and app_fusion(tmp_path).mode is FusionMode.RRF
    assert app_min_confidence(tmp_path) == 0.31
    tuned = load_tuned(tmp_path)
    assert tuned.fusion_source == "sweep of RRF k on scifact" and tuned.saved_at
    rs = apply_tuned(tmp_path, RagSettings(rag=True, method="hybrid", k=4))
    assert rs.fusion == chosen and rs.min_confidence == 0.31 and rs.k == 4
    raw = json.loads(tuned_path(tmp_path).read_text())
    assert raw["version"] == TUNED_VERSION and raw["fusion"]["mode"] == "rrf"


def test_broken_or_newer_files_mean_defaults(tmp_path):
    tuned_path(tmp_path).write_text("{broken")
    assert app_fusion(tmp_path) == FusionSettings()
    tuned_path(tmp_path).write_text(json.dumps({"version": TUNED_VERSION + 1,
                                                "min_confidence": 0.9}))
    assert app_min_confidence(tmp_path) == DEFAULT_MIN_CONFIDENCE
    with pytest.raises(RagLabError):
        save_min_confidence(tmp_path, 1.5)
