"""Result tables: the console table every experiment ends with, and Markdown reports."""

from __future__ import annotations

import io
import re
from typing import Mapping, Sequence

from ens_kd_tf.view_plots import pyplot, views_table


def _cell(value, digits: int = 4) -> str:
    """A metric, or a {"mean", "std"} summary, as text with `digits` decimals."""
    if isinstance(value, Mapping) and "mean" in value:
        return f"{value['mean']:.{digits}f} +- {value['std']:.{digits}f}"
    if isinstance(value, (float, int)):
        return f"{value:.{digits}f}"
    return "" if value is None else str(value)


def percent(value) -> object:
    """Accuracy (fraction or mean/std summary) -> percent, same shape."""
    if isinstance(value, Mapping) and "mean" in value:
        return {"mean": 100 * value["mean"], "std": 100 * value["std"]}
    return None if value is None else 100 * value


def _seeds_cell(row: Mapping) -> str:
    """A row's seed, or its seeds ("0-4" for a run of consecutive seeds)."""
    if row.get("seed") is not None:
        return str(row["seed"])
    seeds = list(row.get("seeds") or ())
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def _gain_cell(gain) -> str:
    """Student minus same-seed scratch, in points (or mean +- std over repeats)."""
    if isinstance(gain, Mapping):
        return f"{gain['mean']:+.2f} +- {gain['std']:.2f}"
    return "" if gain is None else f"{gain:+.2f}"


GAIN_NOTE = ("gain = student minus the plain model of its own seed (same init, data order and "
             "budget), in accuracy points; +- = sample std (ddof=1) over seeds")


def _has_seeds(rows: Sequence[Mapping]) -> bool:
    return any(r.get("seed") is not None or r.get("seeds") for r in rows)


def _has_gain(rows: Sequence[Mapping]) -> bool:
    return any("gain" in r for r in rows)


def result_header(rows: Sequence[Mapping], groups: Sequence[str] = ()) -> list:
    """The header of result_rows: seed and gain columns only when some row has them."""
    return (["model"] + (["seed"] if _has_seeds(rows) else [])
            + ["test acc %"]
            + (["gain vs same-seed scratch"] if _has_gain(rows) else [])
            + ["NLL", "ECE"] + [f"{g} acc %" for g in groups])


def result_rows(rows: Sequence[Mapping], groups: Sequence[str] = ()) -> list:
    """Table rows: name, seed(s), accuracy %, a student's gain over its same-seed scratch
    model, NLL, ECE, and accuracy % of each test group (columns as result_header)."""
    seeds, gains = _has_seeds(rows), _has_gain(rows)
    table = []
    for row in rows:
        cells = [row["name"]] + ([_seeds_cell(row)] if seeds else [])
        cells.append(_cell(percent(row.get("accuracy")), 2))
        cells += [_gain_cell(row.get("gain"))] if gains else []
        cells += [_cell(row.get("nll")), _cell(row.get("ece"))]
        for g in groups:
            cells.append(_cell(percent((row.get(g) or {}).get("accuracy")), 2))
        table.append(cells)
    return table


def plain_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns with a dashed rule under the header."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_table(rows: Sequence[Mapping], groups: Sequence[str] = ()) -> str:
    """A plain-text table of `rows` (each: name, accuracy, nll, ece, optional seed(s), gain
    and groups), with a footnote on the gain column when there is one."""
    table = plain_table(result_header(rows, groups), result_rows(rows, groups))
    return table + ("\n" + GAIN_NOTE if _has_gain(rows) else "")


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


# PAPER.md Table 1 (test accuracy %, 10 seeds): (depth, width, dataset) ->
# (single mean, single std, ensemble, sum, KD, SD). Shown beside our figures for that row.
PAPER_TABLE1 = {
    (28, 2, "cifar10"): (95.22, 0.14, 96.33, 95.02, 96.16, 95.78),
    (34, 1, "cifar10"): (93.65, 0.19, 94.97, 93.12, 94.59, 94.21),
    (34, 2, "cifar10"): (95.45, 0.14, 96.55, 95.00, 96.08, 95.86),
    (16, 10, "cifar10"): (96.08, 0.16, 96.80, 95.88, 96.81, 96.62),
    (22, 10, "cifar10"): (96.44, 0.09, 97.12, 96.41, 97.09, 97.05),
    (28, 10, "cifar10"): (96.70, 0.21, 97.20, 96.46, 97.22, 97.13),
    (28, 2, "cifar100"): (76.38, 0.23, 81.13, 73.18, 79.03, 78.12),
    (34, 1, "cifar100"): (71.66, 0.43, 76.85, 68.88, 73.74, 73.14),
    (34, 2, "cifar100"): (77.01, 0.35, 81.48, 72.99, 79.23, 79.07),
    (16, 10, "cifar100"): (80.03, 0.17, 83.18, 80.53, 82.67, 82.25),
    (22, 10, "cifar100"): (81.17, 0.23, 84.33, 81.59, 83.71, 83.26),
    (28, 10, "cifar100"): (81.51, 0.16, 84.69, 81.83, 83.81, 83.56),
}

# PAPER.md Table 2 (kernel models; single = best of 10): (zoo name, dataset) ->
# (single, ensemble, sum, KD, SD); None where the paper has no figure (oom).
PAPER_TABLE2 = {
    ("simple_cnn_10_3_ntk", "cifar10"): (64.36, 67.38, 69.37, 64.63, 65.24),
    ("resnet10_2_ntk", "cifar10"): (69.15, 73.29, 74.71, 68.82, 66.09),
    ("resnet10_10_ntk", "cifar10"): (76.66, 80.39, None, 77.25, 74.46),
    ("simple_cnn_10_6_ntkp", "cifar10"): (59.92, 63.43, 65.69, 59.12, 57.81),
    ("simple_cnn_10_6_ntkp", "cifar100"): (18.99, 26.54, 28.28, 18.27, 18.40),
    ("resnet10_4_ntkp", "cifar10"): (66.68, 70.54, 72.86, 66.01, 62.91),
    ("resnet10_4_ntkp", "cifar100"): (31.90, 38.32, 41.47, 31.38, 27.64),
    ("simple_cnn_10_6_gp", "cifar10"): (30.48, 35.33, 40.08, 29.43, 29.10),
    ("simple_cnn_10_6_gp", "cifar100"): (9.82, 11.82, 12.22, 8.95, 9.33),
    ("resnet10_4_gp", "cifar10"): (42.17, 48.60, 53.17, 39.45, 41.63),
    ("resnet10_4_gp", "cifar100"): (18.89, 22.92, 25.88, 16.91, 16.59),
}

TABLE1_KINDS = ("single", "ensemble", "sum", "kd", "sd")
TABLE1_HEADER = ("single", "ensemble", "sum", "KD", "SD")


def paper_row(model_name: str, dataset: str):
    """The paper's Table 1 figures for this architecture and dataset, or None."""
    match = (re.fullmatch(r"(?:wrn|resnet)_(\d+)_(\d+)", model_name)
             or re.fullmatch(r"resnet_(\d+)()", model_name))
    if not match:
        return None
    return PAPER_TABLE1.get((int(match[1]), int(match[2] or 1), dataset))


def _pct(value) -> str:
    return _cell(percent(value), 2) if value is not None else ""


def table1_markdown(result: dict) -> str:
    """Our row (and the paper's, when it has one) in the layout of PAPER.md Table 1."""
    by_kind = {r.get("kind"): r for r in result["rows"]}
    ours = [_pct(by_kind[k]["accuracy"]) if k in by_kind else "" for k in TABLE1_KINDS]
    body = [[f"ours: {result['model']} on {result['dataset']}"] + ours]
    paper = paper_row(result["model"], result["dataset"])
    kernel = PAPER_TABLE2.get((result["model"], result["dataset"]))
    if paper:
        mean, std, *rest = paper
        body.append(["paper (Allen-Zhu & Li, Table 1)", f"{mean:.2f} +- {std:.2f}"]
                    + [f"{v:.2f}" for v in rest])
    elif kernel:
        body.append(["paper (Allen-Zhu & Li, Table 2; single = best of 10)"]
                    + [f"{v:.2f}" if v is not None else "oom" for v in kernel])
    return markdown_table(("test accuracy %",) + TABLE1_HEADER, body)


def detail_markdown(result: dict) -> str:
    groups = result.get("groups", ())
    return markdown_table(result_header(result["rows"], groups),
                          result_rows(result["rows"], groups))


def bar_chart_png(result: dict) -> bytes:
    """Accuracy bars per model (error bar = std over seeds), overall and per test group."""
    plt = pyplot()
    rows = result["rows"]
    series = [("all", None)] + [(g, g) for g in result.get("groups", ())]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(rows) * len(series) / 2, 4))
    width = 0.8 / len(series)
    for j, (label, group) in enumerate(series):
        means, stds = [], []
        for r in rows:
            acc = r.get("accuracy") if group is None else (r.get(group) or {}).get("accuracy")
            acc = percent(acc)
            means.append(acc["mean"] if isinstance(acc, Mapping) else (acc or 0.0))
            stds.append(acc["std"] if isinstance(acc, Mapping) else 0.0)
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(rows))]
        ax.bar(xs, means, width, yerr=stds, capsize=3, label=label)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["name"] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy %")
    low = min(min(b.get_height() for b in ax.patches), 100.0)
    ax.set_ylim(max(0.0, low - 10), 100.5)
    ax.set_title(f"{result['experiment']}: {result['model']} on {result['dataset']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def report_markdown(result: dict) -> str:
    """report.md of a table result: Table 1's layout, every row, the notes, the charts and,
    on multi-view data, the views each model learned."""
    lines = [f"# {result['experiment']}: {result['model']} on {result['dataset']}", "",
             table1_markdown(result), "", detail_markdown(result), ""]
    lines += [f"- {n}" for n in report_notes(result)] + ["", "![accuracy](report.png)", ""]
    views = views_table(result)  # the view probes on multi-view data (probes.py)
    if views:
        lines += ["## Views learned (probe accuracy >= 0.5)", "", markdown_table(*views), "",
                  "![views](views.png)", ""]
    return "\n".join(lines)


def _setting_notes(rows: Sequence[Mapping]) -> list:
    """What the rows record of how they were made: reductions and distillation settings."""
    notes = []
    for row in rows:
        kind = row.get("kind")
        if kind == "ensemble" and "reduction" in row:
            notes.append(f"ensemble reduction: average of {row['reduction']}")
        elif kind == "sum" and "reduction" in row:
            notes.append(f"joint sum reduction: {row['reduction']} of the members' logits")
        elif kind in ("kd", "sd") and row.get("distillation"):
            d = row["distillation"]
            parts = [f"T = {d['temperature']}" if "temperature" in d else "",
                     f"hard-label weight alpha = {d['alpha']}" if "alpha" in d else "",
                     f"soft loss {d['soft_loss']}" if "soft_loss" in d else "",
                     f"teacher logits x {d['teacher_scale']}" if "teacher_scale" in d else "",
                     f"teacher outputs {d['teacher_outputs']}"
                     if "teacher_outputs" in d else ""]
            notes.append(f"{kind.upper()} distillation: "
                         f"{', '.join(p for p in parts if p)}")
    return notes


def report_notes(result: dict) -> list:
    """The report's notes, read from the result (its rows and training settings)."""
    notes = _setting_notes(result["rows"])
    notes.append("figures are the last epoch's model, not the best epoch's (no selection on "
                 "test)")
    t = result.get("training")
    if t:
        notes.append(f"training: {t['epochs']} epochs, batch {t['batch_size']}, "
                     f"{t['optimizer']} lr {t['learning_rate']} ({t['schedule']}), weight "
                     f"decay {t['weight_decay']} ({t['weight_decay_mode']})")
    if _has_gain(result["rows"]):
        notes.append(GAIN_NOTE)
    for p in result.get("predictions", ()):
        verdict = "holds" if p["holds"] else "does NOT hold"
        notes.append(f"prediction: {p['claim']}: {verdict} ({p['measured']})")
    if "disagreement" in result:
        notes.append(f"member disagreement (pairwise, test): {result['disagreement']:.4f}")
    return notes
