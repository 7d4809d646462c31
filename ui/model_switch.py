"""The sidebar model switch (one model for the whole app) and the provider settings.

App-wide values live in plain session-state keys (widget keys are dropped on a page
switch): `model` (a label), and the session-only secrets `openai_key`,
`compatible_url`, `compatible_key`, `compatible_model`. Keys typed here never leave
session state: not logged, not written, not echoed back.
"""

from __future__ import annotations

import logging

import streamlit as st

from lib.generation.chat_model import ChatModel
from lib.generation.errors import PROVIDERS_PANEL
from lib.generation.local_server import LocalServer, get_local_server
from lib.generation.models import (
    LOCAL_BASE,
    ModelOption,
    ModelSpec,
    find_model,
    list_models,
    secrets_from,
)
from lib.types import RagLabError
from ui.model_status import render_server_status, starting_label
from ui.resources import get_settings
from ui.walkthrough import mark

log = logging.getLogger(__name__)
_SECRET_KEYS = ("openai_key", "compatible_url", "compatible_key", "compatible_model")


def init_state() -> None:
    """Set the app-wide keys that are missing (never overwrite a choice)."""
    st.session_state.setdefault("model", LOCAL_BASE)
    for key in _SECRET_KEYS:
        st.session_state.setdefault(key, "")


def current_secrets() -> dict[str, str]:
    """Keys and URLs: what this session typed, else env / secrets.toml."""
    init_state()
    s = st.session_state
    return secrets_from(get_settings(), s.openai_key, s.compatible_key, s.compatible_url,
                        s.compatible_model)


def model_options() -> list[ModelOption]:
    return list_models(get_settings(), current_secrets())


def current_spec() -> ModelSpec:
    """The spec chosen in the sidebar; Local base when the choice is unusable now."""
    init_state()
    options = model_options()
    return find_model(options, st.session_state.model) or options[0].spec


def local_server() -> LocalServer:
    """The process-wide local server manager for the current data dir."""
    return get_local_server(get_settings().data_dir)


def model_for(spec: ModelSpec) -> ChatModel:
    """`spec` connected to this session's providers (keys, the local server, user adapters)."""
    return ChatModel(spec, secrets=current_secrets(), server=local_server(),
                     data_dir=get_settings().data_dir)


def current_model() -> ChatModel:
    """The model chosen in the sidebar, connected (build once per run: it caches readiness)."""
    return model_for(current_spec())


def ensure_ready(model: ChatModel) -> None:
    """Start the local server if needed, with a visible status (raises RagLabError)."""
    if model.ready():
        return
    with st.status(starting_label(local_server())) as status:
        model.ensure()
        status.update(label="Local model ready", state="complete")


def _sync(widget_key: str, state_key: str) -> None:
    st.session_state[state_key] = st.session_state[widget_key]
    if state_key == "model":
        mark("model")  # the home page's step 4 check


def render_model_switch() -> None:
    """The sidebar block: model picker, unusable models with reasons, provider settings."""
    init_state()
    options = model_options()
    labels = [o.spec.label for o in options if o.available]
    if st.session_state.model not in labels:
        st.session_state.model = labels[0]
    st.selectbox("Model", labels, index=labels.index(st.session_state.model), key="_model",
                 on_change=_sync, args=("_model", "model"),
                 help="Used by Chat and every page that generates text.")
    chosen = find_model(options, st.session_state.model)
    if chosen is not None and chosen.is_local:
        render_server_status(local_server())
    unusable = [o for o in options if not o.available]
    remote = [o.spec.label for o in unusable if not o.spec.is_local]
    # One container always: the expander below keeps its place (and stays open) when a
    # typed key makes a model usable and its hint disappears.
    with st.container():
        if remote:
            st.caption(f"{' and '.join(remote)}: add a key or a base URL under "
                       f"{PROVIDERS_PANEL}.")
        for o in unusable:
            if o.spec.is_local:
                st.caption(f"{o.spec.label}: {o.unavailable}")
    with st.expander(PROVIDERS_PANEL):
        _provider_settings()


def _provider_settings() -> None:
    """OpenAI key, OpenAI-compatible URL/key/model, and a connection test."""
    settings = get_settings()
    st.text_input("OpenAI API key", type="password", value=st.session_state.openai_key,
                  key="_openai_key", on_change=_sync, args=("_openai_key", "openai_key"),
                  help="Kept in this browser session only; never written to disk.")
    if settings.openai_api_key and not st.session_state.openai_key:
        st.caption("Using the key from the environment / secrets.toml.")
    st.text_input("OpenAI-compatible base URL", value=st.session_state.compatible_url,
                  key="_compatible_url", on_change=_sync,
                  args=("_compatible_url", "compatible_url"),
                  placeholder=settings.compatible_base_url or "http://localhost:11434/v1",
                  help="Ollama, vLLM, LM Studio…")
    st.text_input("Its model", value=st.session_state.compatible_model, key="_compatible_model",
                  on_change=_sync, args=("_compatible_model", "compatible_model"),
                  placeholder=settings.compatible_model or "llama3.2")
    st.text_input("Its API key (optional)", type="password",
                  value=st.session_state.compatible_key, key="_compatible_key",
                  on_change=_sync, args=("_compatible_key", "compatible_key"))
    if st.button("Test connection", key="_test_connection",
                 help="Sends a tiny request to the model chosen above."):
        _test(current_model())


def _test(model: ChatModel) -> None:
    """One line: connected (with latency) or why not."""
    try:
        ensure_ready(model)
        st.success(model.check_connection())
    except RagLabError as err:
        log.info("connection test to %s failed: %s", model.label, err.reason)
        st.error(err.reason)
