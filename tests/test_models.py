"""The model registry: specs, availability, user adapters, and the client factory."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lib.config import load_settings
from lib.generation.models import (
    COMPATIBLE,
    LOCAL_BASE,
    LOCAL_FINE_TUNED,
    OPENAI,
    SHIPPED_ADAPTER,
    ModelSpec,
    adapter_paths,
    api_base,
    find_model,
    list_models,
    make_client,
    secrets_from,
)
from lib.types import ProviderError


def by_label(options):
    return {o.spec.label: o for o in options}


def test_offline_default_needs_no_key(isolated_data_dir):
    options = by_label(list_models(load_settings()))
    base = options[LOCAL_BASE]
    assert base.available and base.spec.provider == "local" and base.spec.adapter is None
    assert not options[OPENAI].available and "key" in options[OPENAI].unavailable
    assert not options[COMPATIBLE].available and "URL" in options[COMPATIBLE].unavailable


def test_fine_tuned_is_listed_and_available_only_with_the_shipped_adapter():
    fine = by_label(list_models(load_settings()))[LOCAL_FINE_TUNED]
    assert fine.spec.adapter == str(SHIPPED_ADAPTER)
    assert fine.available == SHIPPED_ADAPTER.is_file()


def test_keys_from_settings_or_session(isolated_data_dir):
    env = {"OPENAI_API_KEY": "sk-env", "RAGLAB_DATA_DIR": str(isolated_data_dir)}
    settings = load_settings(env=env)
    assert secrets_from(settings)["openai"] == "sk-env"
    assert secrets_from(settings, openai_key="sk-typed")["openai"] == "sk-typed"  # session wins
    options = by_label(list_models(settings))
    assert options[OPENAI].available and options[OPENAI].spec.key_source == "openai"
    assert "sk-env" not in repr(settings) and "sk-env" not in repr(options[OPENAI].spec)


def test_compatible_provider_from_session(isolated_data_dir):
    settings = load_settings()
    secrets = secrets_from(settings, compatible_url="http://localhost:11434",
                           compatible_model="llama3.2")
    spec = find_model(list_models(settings, secrets), COMPATIBLE)
    assert spec is not None and spec.model == "llama3.2"
    assert spec.base_url == "http://localhost:11434"


def test_user_adapters_are_specs_with_their_metadata(isolated_data_dir):
    folder = isolated_data_dir / "adapters"
    folder.mkdir(parents=True)
    (folder / "my-style.gguf").write_bytes(b"GGUF")
    (folder / "my-style.json").write_text(json.dumps({"label": "My style", "scale": 0.5}))
    (folder / "bare.gguf").write_bytes(b"GGUF")
    options = by_label(list_models(load_settings()))
    mine = options["Local: My style"].spec
    assert mine.adapter == str((folder / "my-style.gguf").resolve()) and mine.adapter_scale == 0.5
    assert options["Local: bare"].spec.adapter_scale == 1.0
    paths = adapter_paths(isolated_data_dir)
    assert paths[-2:] == [(folder / "bare.gguf").resolve(), (folder / "my-style.gguf").resolve()]


def test_spec_is_frozen_and_hashable():
    spec = ModelSpec("x", "local", "m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.model = "y"  # type: ignore[misc]
    assert len({spec, ModelSpec("x", "local", "m")}) == 1


def test_make_client_per_provider():
    local = make_client(ModelSpec("L", "local", "m"), base_url="http://127.0.0.1:5000")
    assert str(local.base_url).rstrip("/") == "http://127.0.0.1:5000/v1"
    assert local.max_retries == 0  # retries are ours (visible, testable)
    oa = make_client(ModelSpec("O", "openai", "gpt", key_source="openai"), {"openai": "sk-1"})
    assert oa.api_key == "sk-1" and "api.openai.com" in str(oa.base_url)
    compat = make_client(ModelSpec("C", "openai-compatible", "m", "http://h:1", "compatible"), {})
    assert str(compat.base_url).rstrip("/") == "http://h:1/v1"


@pytest.mark.parametrize("spec, secrets, message", [
    (ModelSpec("L", "local", "m"), {}, "not running"),
    (ModelSpec("O", "openai", "gpt", key_source="openai"), {"openai": ""}, "No OpenAI API key"),
    (ModelSpec("C", "openai-compatible", "m", "", "compatible"), {}, "No base URL"),
])
def test_make_client_refuses_with_one_line(spec, secrets, message):
    with pytest.raises(ProviderError, match=message):
        make_client(spec, secrets)


@pytest.mark.parametrize("url, expected", [
    ("http://localhost:11434", "http://localhost:11434/v1"),
    ("http://localhost:11434/", "http://localhost:11434/v1"),
    ("http://localhost:8000/v1/", "http://localhost:8000/v1"),
    ("https://generativelanguage.googleapis.com/v1beta/openai/",
     "https://generativelanguage.googleapis.com/v1beta/openai"),
    ("", None),
])
def test_api_base(url, expected):
    assert api_base(url) == expected
