"""Pure helpers that turn a saved evaluation report (JSON dict) into rows for tables and charts."""

from __future__ import annotations

SINGLE = ("keyword", "vector")


def metric_names(report: dict) -> list[str]:
    """The report's four figures in display order (ndcg@k, recall@k, mrr@k, map)."""
    k = report["settings"]["k"]
    return [f"ndcg@{k}", f"recall@{k}", f"mrr@{k}", "map"]


def metric_rows(report: dict) -> list[dict]:
    """Long-form rows {method, metric, value} for a grouped bar chart."""
    return [
        {"method": m, "metric": n, "value": v[n]}
        for m, v in report["methods"].items()
        for n in metric_names(report)
    ]


def best_method(report: dict) -> str:
    """The method with the highest nDCG@k."""
    name = metric_names(report)[0]
    return max(report["methods"], key=lambda m: report["methods"][m][name])


def query_deltas(report: dict) -> list[dict]:
    """Per query: hybrid's nDCG@k minus the better single method's (needs per_query data).

    Sorted from hybrid's biggest win to its biggest loss; empty when hybrid or both
    single methods were not run.
    """
    name = metric_names(report)[0]
    methods = report["methods"]
    if "hybrid" not in methods or not all(m in methods for m in SINGLE):
        return []
    rows = []
    for q in report.get("per_query", []):
        scores = {m: q["metrics"][m][name] for m in ("hybrid", *SINGLE)}
        best_single = max(SINGLE, key=lambda m: scores[m])
        rows.append(
            {
                "id": q["id"],
                "text": q["text"],
                "hybrid": scores["hybrid"],
                "best_single": best_single,
                "single": scores[best_single],
                "delta": scores["hybrid"] - scores[best_single],
            }
        )
    return sorted(rows, key=lambda r: -r["delta"])


def win_loss(report: dict) -> dict[str, int]:
    """How many queries hybrid wins, ties and loses against the better single method."""
    deltas = [r["delta"] for r in query_deltas(report)]
    eps = 1e-9
    return {
        "wins": sum(d > eps for d in deltas),
        "ties": sum(abs(d) <= eps for d in deltas),
        "losses": sum(d < -eps for d in deltas),
    }


def sweep_rows(report: dict) -> list[dict]:
    """{value, ndcg} points of the sweep curve (empty without a sweep)."""
    curve = report.get("sweep")
    if not curve:
        return []
    key = "alpha" if curve["parameter"] == "alpha" else "rrf_k"
    return [{"value": p[key], "ndcg": p[curve["metric"]]} for p in curve["points"]]
