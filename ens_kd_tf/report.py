"""Result tables: the console table every experiment ends with, and Markdown reports."""

from __future__ import annotations

from typing import Mapping, Sequence


def _cell(value) -> str:
    """A metric, or a {"mean", "std"} summary, as text (accuracies in %)."""
    if isinstance(value, Mapping) and "mean" in value:
        return f"{value['mean']:.4g} +- {value['std']:.2g}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def percent(value) -> object:
    """Accuracy (fraction or mean/std summary) -> percent, same shape."""
    if isinstance(value, Mapping) and "mean" in value:
        return {"mean": 100 * value["mean"], "std": 100 * value["std"]}
    return None if value is None else 100 * value


def result_rows(rows: Sequence[Mapping], groups: Sequence[str] = ()) -> list:
    """Table rows: name, accuracy %, NLL, ECE, and accuracy % of each test group."""
    table = []
    for row in rows:
        cells = [row["name"], _cell(percent(row.get("accuracy"))), _cell(row.get("nll")),
                 _cell(row.get("ece"))]
        for g in groups:
            cells.append(_cell(percent((row.get(g) or {}).get("accuracy"))))
        table.append(cells)
    return table


def format_table(rows: Sequence[Mapping], groups: Sequence[str] = ()) -> str:
    """A plain-text table of `rows` (each: name, accuracy, nll, ece, optional groups)."""
    header = ["model", "test acc %", "NLL", "ECE"] + [f"{g} acc %" for g in groups]
    body = result_rows(rows, groups)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [header] + body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)
