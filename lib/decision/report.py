"""The stakeholder report: one self-contained HTML file (inline SVG charts, print CSS) and Markdown.

Both are built from the same sections, so they always carry the same numbers. Missing
evidence is said to be missing, with the page that produces it; nothing is filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from lib.decision import charts
from lib.decision.answers import PROBLEMS, Answers
from lib.decision.cost import CostInputs, calculate
from lib.decision.logic import RULES, Recommendation
from lib.decision.records import Evidence

TITLE = "RAG, fine-tuning or both? Decision report"
Table = tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]  # header, rows


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows."""

    answers: Answers
    recommendation: Recommendation
    evidence: Evidence
    generated_at: str  # ISO date and time, UTC
    cost: CostInputs | None = None
    settings: tuple[tuple[str, str], ...] = ()  # (name, value): embedder, chunking, models


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0%}"


def _yn(v: bool | None) -> str:
    return "not answered" if v is None else ("yes" if v else "no")


def answers_table(a: Answers) -> Table:
    rows = [
        (p.label, "yes" if p.id in a.problems else "no", p.rag, p.fine_tuning) for p in PROBLEMS
    ]
    return ("Problem", "We have it", "RAG", "Fine-tuning"), tuple(rows)


def questions_table(a: Answers) -> Table:
    examples = "not answered" if a.labelled_examples is None else f"{a.labelled_examples:,}"
    rows = (
        ("Facts or current information?", _yn(a.needs_facts)),
        ("Format, tone or style?", _yn(a.needs_behaviour)),
        (
            "Labelled examples of the wanted behaviour",
            examples + (" (mostly synthetic)" if a.synthetic else ""),
        ),
        ("Time budget", a.time_budget or "not answered"),
        ("Is the information dynamic?", _yn(a.dynamic)),
        ("Planned to start with", a.planned),
    )
    return ("Question", "Answer"), rows


def evidence_tables(ev: Evidence) -> list[tuple[str, Table]]:
    """(caption, table) for each measured piece; absent pieces are listed by missing_lines."""
    out: list[tuple[str, Table]] = []
    if (r := ev.retrieval) is not None:
        rows = tuple(
            (m.method, f"{m.ndcg:.3f}", f"{m.recall:.3f}", f"{m.mrr:.3f}") for m in r.methods
        )
        cap = (
            f"Retrieval, latest evaluation run: '{r.dataset}', {r.n_queries} queries, "
            f"embedder {r.embedder}, saved {r.saved_at or 'n/a'}"
        )
        if r.id_queries:
            cap += (
                f". Exact-ID queries: keyword wins {r.keyword_wins_ids} of {r.id_queries}, "
                f"vector wins {r.vector_wins_ids}"
            )
        if r.hybrid_wins is not None:
            cap += (
                f". Hybrid vs the better single method per query: {r.hybrid_wins} wins, "
                f"{r.hybrid_ties} ties, {r.hybrid_losses} losses"
            )
        out.append((cap, (("Method", f"nDCG@{r.k}", f"recall@{r.k}", "MRR"), rows)))
    if (g := ev.grid) is not None:
        rows = tuple(
            (c.label, _pct(c.facts), _pct(c.grounded), _pct(c.style), str(c.n)) for c in g.cells
        )
        out.append(
            (
                f"2x2 batch: {g.n_questions} questions, {g.base} vs {g.fine_tuned}, "
                f"run {g.created_at}",
                (("Cell", "Expected fact", "Grounded", "Style rules", "Answers"), rows),
            )
        )
    rows_ft: list[tuple[str, str]] = []
    if (d := ev.dataset) is not None:
        rows_ft += [
            ("Dataset", d.source),
            ("Examples", f"{d.n_examples:,} (guidance: 500-2,000 good pairs)"),
            ("Mean tokens per example", f"{d.mean_tokens:,.1f}"),
            (
                "OpenAI training estimate",
                f"${d.cost_usd:,.2f} ({d.billed_tokens:,} billed "
                f"tokens, {d.epochs} epochs, {d.price_model} at ${d.usd_per_million}/1M, "
                f"prices {d.prices_date})",
            ),
        ]
    if (t := ev.training) is not None:
        where = (
            "the shipped adapter, trained on a 2-core CPU" if t.shipped else "trained in this app"
        )
        rows_ft.append(
            (
                "Local LoRA training time",
                f"{t.seconds:,.0f} s for {t.steps} steps on {t.n_examples} examples "
                f"({t.label}, {where}, {t.created_at})",
            )
        )
    if rows_ft:
        out.append(("Fine-tuning data and cost", (("Figure", "Value"), tuple(rows_ft))))
    if (p := ev.prompts) is not None:
        rows_p = (
            ("RAG system prompt", f"{p.rag_system:,}"),
            ("Plain system prompt (RAG off)", f"{p.plain_system:,}"),
            ("Style rules (the guide's rules table)", f"{p.style_rules:,}"),
            ("Whole style guide", f"{p.style_guide:,}"),
            ("Retrieved sources (estimate: k x chunk size)", f"{p.sources:,}"),
            ("Question (estimate)", f"{p.question:,}"),
        )
        out.append((f"Prompt tokens, counted with the {p.counter}", (("Part", "Tokens"), rows_p)))
    return out


def cost_table(c: CostInputs) -> Table:
    r = calculate(c)
    payback = (
        "never (the fine-tuned price outweighs the shorter prompt)"
        if r.payback_months is None
        else f"{r.payback_months:,.1f} months"
    )
    volume = (
        "none"
        if r.break_even_requests_per_day is None
        else f"{r.break_even_requests_per_day:,.0f} requests/day"
    )
    rows = (
        ("Requests per day", f"{c.requests_per_day:,.0f}"),
        ("Prompt tokens today", f"{c.prompt_tokens:,}"),
        ("Tokens fine-tuning removes", f"{c.removed_tokens:,}"),
        ("Input price today / fine-tuned", f"${c.before_per_m}/1M / ${c.after_per_m}/1M"),
        ("Monthly prompt cost today", f"${r.monthly_before_usd:,.2f}"),
        ("Monthly prompt cost fine-tuned", f"${r.monthly_after_usd:,.2f}"),
        ("Monthly saving", f"${r.monthly_saving_usd:,.2f}"),
        ("One-off fine-tuning cost", f"${c.one_off_usd:,.2f}"),
        ("Pays back in", payback),
        (f"Break-even volume ({c.horizon_months} months)", volume),
    )
    return ("Figure", "Value"), rows


def _md_table(t: Table) -> str:
    def clean(cell: str) -> str:
        return cell.replace("|", "\\|")

    head, rows = t
    lines = ["| " + " | ".join(map(clean, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(clean, row)) + " |" for row in rows]
    return "\n".join(lines)


def _reason_lines(rec: Recommendation) -> list[str]:
    return [f"{r.text} (rule: {RULES[r.rule]})" for r in rec.reasons]


def to_markdown(data: ReportData) -> str:
    """The report as Markdown (GitHub-flavoured tables; charts are in the HTML version)."""
    rec, ev = data.recommendation, data.evidence
    out = [
        f"# {TITLE}",
        "",
        f"Generated {data.generated_at}",
        "",
        "## Recommendation",
        "",
        f"**{rec.headline}**",
        "",
    ]
    out += [f"- {line}" for line in _reason_lines(rec)] + [""]
    out += ["## Common mistakes that apply", ""]
    out += [f"- **{m.title}**: {m.because} {m.advice}" for m in rec.mistakes] or ["- None apply."]
    out += ["", "## Next steps", ""]
    out += [f"- {s.what} (page: {s.label})" for s in rec.next_steps] or ["- None."]
    out += [
        "",
        "## Our answers",
        "",
        _md_table(answers_table(data.answers)),
        "",
        _md_table(questions_table(data.answers)),
        "",
        "## Evidence measured in RAG Lab",
        "",
    ]
    for caption, table in evidence_tables(ev):
        out += [f"**{caption}**", "", _md_table(table), ""]
    out += [f"- Not measured yet: {s.what} (page: {s.label})" for s in ev.missing]
    if data.cost is not None:
        out += ["", "## Prompt cost and break-even", "", _md_table(cost_table(data.cost))]
    out += ["", "## Settings", ""]
    out += [f"- {k}: {v}" for k, v in data.settings] + [f"- Report date: {data.generated_at}", ""]
    return "\n".join(out)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:180mm;
margin:2em auto;padding:0 1em;line-height:1.45}
h1{font-size:1.6em}
h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
.verdict{font-size:1.3em;font-weight:700;background:#eef4ff;border-left:5px solid #4c72b0;
padding:.5em .8em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em;font-size:.9em;table-layout:auto}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:#f3f3f3}caption{text-align:left;font-weight:600;padding:.3em 0}
figure{margin:1em 0}svg{max-width:100%;height:auto}.missing{color:#8a5a00}
.rule{color:#666;font-size:.85em}
@page{size:A4;margin:15mm}
@media print{body{margin:0;max-width:none}
table,figure,tr{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}h2{break-after:avoid;page-break-after:avoid}}
"""


def _html_table(t: Table, caption: str = "") -> str:
    head, rows = t
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def to_html(data: ReportData) -> str:
    """The report as one HTML file: no scripts, no external fonts, images or styles."""
    rec, ev = data.recommendation, data.evidence
    parts = [
        f"<h1>{escape(TITLE)}</h1><p>Generated {escape(data.generated_at)}</p>",
        "<h2>Recommendation</h2>",
        f'<p class="verdict">{escape(rec.headline)}</p>',
        _list(
            [
                f'{escape(r.text)} <span class="rule">rule: {escape(RULES[r.rule])}</span>'
                for r in rec.reasons
            ]
        ),
        "<h2>Common mistakes that apply</h2>",
        _list(
            [
                f"<b>{escape(m.title)}</b>: {escape(m.because)} {escape(m.advice)}"
                for m in rec.mistakes
            ]
            or ["None apply."]
        ),
        "<h2>Next steps</h2>",
        _list([f"{escape(s.what)} (page: {escape(s.label)})" for s in rec.next_steps] or ["None."]),
        "<h2>Our answers</h2>",
        _html_table(answers_table(data.answers)),
        _html_table(questions_table(data.answers)),
        "<h2>Evidence measured in RAG Lab</h2>",
    ]
    for caption, table in evidence_tables(ev):
        parts.append(_html_table(table, caption))
    if ev.retrieval is not None:
        parts.append(f"<figure>{charts.retrieval_chart(ev.retrieval)}</figure>")
    if ev.grid is not None:
        parts.append(f"<figure>{charts.grid_chart(ev.grid)}</figure>")
    if ev.missing:
        parts.append(
            '<div class="missing">'
            + _list(
                [
                    f"Not measured yet: {escape(s.what)} (page: {escape(s.label)})"
                    for s in ev.missing
                ]
            )
            + "</div>"
        )
    if data.cost is not None:
        parts += [
            "<h2>Prompt cost and break-even</h2>",
            _html_table(cost_table(data.cost)),
            f"<figure>{charts.cost_chart(data.cost)}</figure>",
        ]
    settings = [*data.settings, ("Report date", data.generated_at)]
    parts += ["<h2>Settings</h2>", _html_table((("Setting", "Value"), tuple(settings)))]
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(TITLE)}'
        f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )
