"""This browser's own id, kept in the URL (`?session=<uuid>`), so each browser has its own chat.

Session state alone is lost on a reload or an app restart; the URL survives both (and a
bookmark), so the id is read from it on a new connection and written back on every run
(page links carry it too: `link_params()`). Whoever has the URL has the transcript: a
local tool's privacy, not a login.
"""

from __future__ import annotations

import streamlit as st

from lib.chat.history import is_session_id, new_session_id

PARAM = "session"
_STATE_KEY = "browser_session"


def browser_session_id() -> str:
    """This browser's id: from session state, else the URL, else a new one; kept in the URL."""
    sid = st.session_state.get(_STATE_KEY)
    if not is_session_id(sid):
        from_url = st.query_params.get(PARAM, "")
        sid = from_url if is_session_id(from_url) else new_session_id()
        st.session_state[_STATE_KEY] = sid
    if st.query_params.get(PARAM) != sid:
        st.query_params[PARAM] = sid
    return sid


def link_params() -> dict[str, str]:
    """Query params for `st.page_link`, so switching page keeps the id in the URL."""
    return {PARAM: browser_session_id()}
