"""The grounding check under a chat answer: each figure found in a cited source, or not."""

from __future__ import annotations

import re

import streamlit as st

from lib.types import Answer, Figure, Grounding

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def _md(text: str) -> str:
    """A figure shown as typed (no LaTeX from "$5", no links from brackets)."""
    return _MARKDOWN.sub(r"\\\1", text)


def figure_note(fig: Figure) -> str:
    """`£12.99 ✓ [1]`, `£14.99 ⚠ only in [3], not cited`, `£13 ✗ not in any source`."""
    where = ", ".join(f"\\[{n}\\]" for n in fig.sources)
    if fig.supported and fig.better:
        return f"`{fig.text}` ⚠️ in {where}, but from another line: {_md(fig.better)}"
    if fig.supported:
        return f"`{fig.text}` ✓ {where}"
    if fig.sources:
        return f"`{fig.text}` ⚠️ only in {where}, not cited"
    return f"`{fig.text}` ✗ not in any source"


ACTIONS = {
    "cited": "The answer's figure came from a source it did not cite: that source was added.",
    "retried": "The first answer had a figure the sources do not hold, one from a line "
               "that answers something else, none where the question asks for one, or not "
               "the meaning of the code asked about: this one was asked again on the best "
               "line alone.",
    "quoted": "The model's answers had figures the sources do not hold, from a line that "
              "answers something else, none where the question asks for one, or not the "
              "meaning of the code asked about: this is the best line of the sources, "
              "quoted.",
}


# What the post-check did when it knows why (Grounding.repaired): the reason that applied.
REPAIRS = {
    "retried": "The first answer was asked again on the best line alone: {why}.",
    "quoted": "The model's answers did not pass the check, so this is the best line of the "
              "sources, quoted. The first answer: {why}.",
}


def summary(grounding: Grounding) -> str:
    """One line: how many figures the cited sources support (and what the post-check did)."""
    line = _counts(grounding)
    if grounding.repaired and grounding.action in REPAIRS:
        return f"{line} {REPAIRS[grounding.action].format(why=_md(grounding.repaired))}"
    return f"{line} {ACTIONS[grounding.action]}" if grounding.action in ACTIONS else line


def _counts(grounding: Grounding) -> str:
    n, bad = len(grounding.figures), len(grounding.flagged)
    if grounding.missing and not bad:
        return (f"⚠️ Grounding check: {grounding.missing}: "
                f"read the sources below before you rely on this answer.")
    if not n:
        return "🔎 Grounding check: no figures, dates or IDs to check."
    if not bad:
        what = "its one figure, date or ID" if n == 1 else f"all {n} figures, dates and IDs"
        return f"🔎 Grounding check: {what} found in the cited sources."
    if not grounding.unsupported:
        return (f"⚠️ Grounding check: {bad} of {n} figures, dates and IDs are in the cited "
                f"sources but on a line that answers something else: check them before you "
                f"rely on this answer.")
    return (f"⚠️ Grounding check: {bad} of {n} figures, dates and IDs are not in the cited "
            f"sources or come from a line that answers something else: check them before "
            f"you rely on this answer.")


def render_grounding(answer: Answer) -> None:
    """A caption when every figure is supported, a warning when any is not."""
    g = answer.grounding
    if g is None or answer.abstained:
        return
    notes = " · ".join(figure_note(f) for f in g.figures)
    text = summary(g) + (f"  \n{notes}" if notes else "")
    if g.passed:
        st.caption(text)
    else:
        st.warning(text)
    if answer.unseen:
        st.caption(unseen_note(answer.unseen))


def unseen_note(words: tuple[str, ...]) -> str:
    """`🔤 No document uses the word "mortgage": ...` under an answer."""
    named = ", ".join(f'"{_md(w)}"' for w in words)
    plural = "s" if len(words) > 1 else ""
    return (f"🔤 No document uses the word{plural} {named}: if that is what the question is "
            f"about, the sources (and so the answer) may be about something else.")
