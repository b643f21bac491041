"""The mechanism's pictures: views.png (which views each model learned, and patch_net's Phi
lottery curves) and saliency.png (the paper's Fig. 4: per-member input-gradient saliency).

matplotlib is imported lazily (an optional heavy dependency); every figure is written
atomically.
"""

from __future__ import annotations

import io
import textwrap
from typing import List, Optional, Sequence, Tuple

import keras
import numpy as np

from ens_kd_tf import io_utils
from ens_kd_tf.probes import ViewGeometry, input_saliency, models_of, view_cells

SINGLE_PANELS = 5  # single models shown in views.png; other rows show their first model
VIEW_COLOURS = ("lime", "red")


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    pyplot().close(fig)
    return buf.getvalue()


def view_panels(result: dict) -> List[Tuple[str, dict]]:
    """(title, per-model views) to draw: a few single models, then one per other row."""
    panels = []
    for row in result["rows"]:
        models = models_of(row.get("views"))
        limit = SINGLE_PANELS if row.get("kind") == "single" else 1
        for i, views in enumerate(models[:limit]):
            title = row["name"] if len(models) == 1 else f"{row['name']} [{i}]"
            panels.append((title, views))
    return panels


def _mean_std_text(value, scale: float = 1.0, digits: int = 2) -> str:
    if isinstance(value, dict):
        return f"{scale * value['mean']:.{digits}f} +- {scale * value['std']:.{digits}f}"
    return f"{scale * value:.{digits}f}"


def views_table(result: dict) -> Optional[Tuple[list, list]]:
    """(header, body) of a views summary per row (see probes.py), or None without views."""
    body = []
    for row in result["rows"]:
        views = row.get("views")
        if not views:
            continue
        k = len(models_of(views)[0]["learned"])
        both = views["classes_with_both"]
        acc = np.nanmean(np.array(views["probe_accuracy"], float))
        body.append([row["name"], f"{_mean_std_text(both, 1, 1)} / {k}",
                     _mean_std_text(views["learned_fraction"]), f"{acc:.2f}"])
    if not body:
        return None
    return ["model", "classes with both views", "views learned", "mean probe accuracy"], body


def views_png(result: dict) -> Optional[bytes]:
    """Heatmaps of probe accuracy (classes x views; "L" = learned) per model, and the Phi
    lottery curves of the first models that have them. None when no row has views."""
    panels = view_panels(result)
    if not panels:
        return None
    curves = [(t, v["phi_curve"]) for t, v in panels if v.get("phi_curve")][:3]
    plt = pyplot()
    k = len(panels[0][1]["learned"])
    ncols = max(len(panels), 1)
    fig = plt.figure(figsize=(1.5 * ncols + 1, 0.28 * k + 2.2 + (2.8 if curves else 0)))
    grid = fig.add_gridspec(2 if curves else 1, ncols,
                            height_ratios=[0.28 * k + 1.2, 2.6] if curves else None)
    for c, (title, views) in enumerate(panels):
        ax = fig.add_subplot(grid[0, c])
        acc = np.array(views["probe_accuracy"], float)
        image = ax.imshow(acc, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for j, pair in enumerate(views["learned"]):
            for v, learned in enumerate(pair):
                if learned:
                    ax.text(v, j, "L", ha="center", va="center", fontsize=7, color="black"
                            if acc[j, v] > 0.6 else "white")
        ax.set_xticks([0, 1])
        ax.set_xticklabels(["view 1", "view 2"], fontsize=7)
        ax.set_yticks(range(k))
        ax.set_yticklabels([str(j) for j in range(k)] if c == 0 else [], fontsize=7)
        ax.set_title(textwrap.fill(title, 16) + f"\nboth views: {views['classes_with_both']}/{k}",
                     fontsize=6)
    fig.colorbar(image, ax=fig.axes, shrink=0.6, label="probe accuracy")
    if curves:
        span = max(1, ncols // len(curves))
        for i, (title, curve) in enumerate(curves):
            ax = fig.add_subplot(grid[1, i * span:(i + 1) * span])
            values = np.array(curve["phi"])  # [T, k, 2]
            final = values[-1]
            for j in range(values.shape[1]):
                win = int(final[j].argmax())
                line, = ax.plot(curve["epochs"], values[:, j, win], lw=1)
                ax.plot(curve["epochs"], values[:, j, 1 - win], lw=1, ls="--",
                        color=line.get_color())
            ax.set_xlabel("epoch", fontsize=7)
            if i == 0:
                ax.set_ylabel("Phi_{j,l} (solid: the winning view)", fontsize=7)
            ax.set_title(textwrap.fill(f"Phi lottery: {title}", 40), fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle(f"{result.get('experiment', '')}: which views each model learned "
                 "(probe accuracy; L = learned)", fontsize=8)
    return _png(fig, dpi=80)


def write_views_png(path: str, result: dict) -> bool:
    """Writes views.png if any row has views; returns whether it did."""
    data = views_png(result)
    if data is None:
        return False
    io_utils.write_bytes_atomic(path, data)
    return True


def saliency_examples(data, count: int = 4) -> np.ndarray:
    """Indices of fixed test samples: the first of each of the first `count` classes
    (multi-view samples where the data has them), topped up in order if classes run out."""
    pool = np.flatnonzero(data.test_groups.get("multi_view", np.ones(data.num_test, bool)))
    picked = [int(pool[data.y_test[pool] == c][0]) for c in range(data.info.num_classes)
              if (data.y_test[pool] == c).any()][:count]
    picked += [int(i) for i in pool if i not in picked][:count - len(picked)]
    return np.array(picked)


def _as_map(saliency: np.ndarray) -> np.ndarray:
    """[N, H, W, C] -> [N, H, W]; patches [N, P, d] -> [N, g, g] (or [N, 1, P])."""
    if saliency.ndim == 4:
        return saliency.sum(-1)
    n, num_p = saliency.shape[:2]
    g = int(round(np.sqrt(num_p)))
    return saliency.sum(-1).reshape((n, g, g) if g * g == num_p else (n, 1, num_p))


def saliency_grid(models: Sequence[keras.Model], x: np.ndarray, y: np.ndarray,
                  baseline=0.0) -> np.ndarray:
    """[n_images, n_models, H, W]: each model's gradient-x-input saliency
    |d logit_y / d x * (x - baseline)| (probes.input_saliency) summed over channels (or per
    patch), each map scaled to max 1."""
    maps = []
    for m in models:  # zeros for a model without input gradients (linearized kernels)
        saliency = input_saliency(m, x, y, baseline)
        maps.append(_as_map(np.zeros(x.shape, np.float32) if saliency is None else saliency))
    maps = np.stack(maps, axis=1)
    return maps / np.maximum(maps.max(axis=(2, 3), keepdims=True), 1e-30)


def _cell_boxes(ax, geom: ViewGeometry, x: np.ndarray, y: int, pixel: int) -> None:
    from matplotlib.patches import Rectangle

    cells = view_cells(geom, x[None], np.array([y]))[0]  # [P, 2]
    g = int(round(np.sqrt(cells.shape[0])))
    for v in range(2):
        for p in np.flatnonzero(cells[:, v]):
            r, c = divmod(int(p), g)
            ax.add_patch(Rectangle((c * pixel - 0.5, r * pixel - 0.5), pixel, pixel,
                                   fill=False, lw=1.2, edgecolor=VIEW_COLOURS[v]))


def saliency_png(data, named_models: Sequence[Tuple[str, keras.Model]],
                 geom: Optional[ViewGeometry] = None, count: int = 4) -> bytes:
    """The paper's Fig. 4: rows = fixed test inputs, columns = the input then each model's
    saliency; on multi-view data the view cells are boxed (green: view 1, red: view 2)."""
    idx = saliency_examples(data, count)
    x, y = data.x_test[idx], data.y_test[idx]
    grid = saliency_grid([m for _, m in named_models], x, y, np.asarray(data.info.mean))
    plt = pyplot()
    n, cols = grid.shape[0], grid.shape[1] + 1
    fig, axes = plt.subplots(n, cols, figsize=(1.6 * cols, 1.6 * n + 0.4), squeeze=False)
    pixel = geom.patch_size if geom is not None and geom.form == "images" else 1
    for i in range(n):
        shown = x[i] if x.ndim == 4 else _as_map(np.abs(x[i:i + 1]))[0]
        axes[i, 0].imshow(shown, cmap=None if x.ndim == 4 else "gray")
        axes[i, 0].set_ylabel(f"class {int(y[i])}", fontsize=7)
        for c in range(grid.shape[1]):
            axes[i, c + 1].imshow(grid[i, c], cmap="inferno", vmin=0, vmax=1)
        for c in range(cols):
            if geom is not None:
                _cell_boxes(axes[i, c], geom, x[i], int(y[i]), pixel)
            axes[i, c].set_xticks([])
            axes[i, c].set_yticks([])
    for c, title in enumerate(["input"] + [name for name, _ in named_models]):
        axes[0, c].set_title(title, fontsize=7)
    fig.suptitle("saliency |d logit_y / d x * (x - mean)| (each map scaled to its max)",
                 fontsize=8)
    return _png(fig)


def write_saliency_png(path: str, data, named_models: Sequence[Tuple[str, keras.Model]],
                       geom: Optional[ViewGeometry] = None, count: int = 4) -> None:
    io_utils.write_bytes_atomic(path, saliency_png(data, named_models, geom, count))
