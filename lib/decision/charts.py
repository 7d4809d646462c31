"""The report's charts, drawn with matplotlib (Agg) as inline SVG: text as paths, no fonts."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt

from lib.decision.cost import CostInputs, calculate, saving_curve
from lib.decision.records import GridEvidence, RetrievalEvidence

COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")
SIZE = (6.4, 2.8)  # inches: fits an A4 column at 100% width


def _svg(fig, prefix: str) -> str:
    """The figure as an <svg> element: no XML prolog, DOCTYPE or RDF metadata, unique ids."""
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "path", "svg.hashsalt": prefix}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Several charts share one page: prefix ids so clip paths never point into another chart.
    svg = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)


def _bars(ax, groups: Sequence[str], series: dict[str, Sequence[float | None]]) -> None:
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ys = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(xs, ys, width, label=name, color=COLOURS[i % len(COLOURS)])
        for bar, v in zip(bars, values):
            text = "n/a" if v is None else f"{v:.2f}"
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.legend(fontsize=7, loc="upper left", ncols=len(series), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def retrieval_chart(r: RetrievalEvidence) -> str:
    """nDCG@k, recall@k and MRR per retrieval method."""
    fig, ax = plt.subplots(figsize=SIZE)
    names = [m.method for m in r.methods]
    _bars(
        ax,
        names,
        {
            f"nDCG@{r.k}": [m.ndcg for m in r.methods],
            f"recall@{r.k}": [m.recall for m in r.methods],
            "MRR": [m.mrr for m in r.methods],
        },
    )
    ax.set_title(f"Retrieval per method ({r.dataset}, {r.n_queries} queries)", fontsize=9)
    return _svg(fig, "retrieval")


def grid_chart(g: GridEvidence) -> str:
    """The 2x2 scorecard: facts stated, grounded, style rules passed, per cell."""
    fig, ax = plt.subplots(figsize=SIZE)
    labels = [c.label.replace(" · ", "\n") for c in g.cells]
    _bars(
        ax,
        labels,
        {
            "expected fact": [c.facts for c in g.cells],
            "grounded": [c.grounded for c in g.cells],
            "style rules": [c.style for c in g.cells],
        },
    )
    ax.set_title(f"2x2 scorecard ({g.n_questions} questions)", fontsize=9)
    return _svg(fig, "grid")


def cost_chart(inputs: CostInputs) -> str:
    """Saving over the horizon against requests per day, with the one-off cost as a line."""
    curve = saving_curve(inputs)
    result = calculate(inputs)
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(
        [x for x, _ in curve],
        [y for _, y in curve],
        color=COLOURS[0],
        label=f"prompt saving over {inputs.horizon_months} months",
    )
    ax.axhline(
        inputs.one_off_usd,
        color=COLOURS[3],
        linestyle="--",
        label=f"one-off cost ${inputs.one_off_usd:,.0f}",
    )
    if result.break_even_requests_per_day is not None:
        be = result.break_even_requests_per_day
        ax.axvline(be, color="grey", linestyle=":", label=f"break-even {be:,.0f} requests/day")
    ax.axvline(
        inputs.requests_per_day,
        color=COLOURS[2],
        linewidth=1,
        label=f"today {inputs.requests_per_day:,.0f} requests/day",
    )
    ax.set_xlabel("requests per day", fontsize=8)
    ax.set_ylabel("USD", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"Break-even{f' ({inputs.label})' if inputs.label else ''}", fontsize=9)
    return _svg(fig, "cost")
