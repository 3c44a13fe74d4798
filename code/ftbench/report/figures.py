"""Figures as vector PDF in one print-readable style: drawn at the size they are printed (the
paper includes them unscaled, none wider than the text), no text under 7 pt, legends beside or
below the data, never on it."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ftbench.store import atomic  # noqa: E402

STYLE = {
    "font.family": "serif", "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
    "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True,
    "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "pdf.fonttype": 42, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
}
MARKERS = "osD^vP*X"


WIDTH = 6.4  # inches: a little less than the text width (6.5 in), which no figure exceeds
MIN_POINTS = 7  # the smallest text in any figure, at print size


def _title(name: str) -> str:
    """Panel titles on two lines: 'Digits (8x8, MNIST stand-in)' -> name, then the note."""
    return name.replace(" (", "\n(", 1)


def legend_below(fig, handles, labels, ncol: int, space: float = 0.12) -> None:
    """One legend for the figure, under its panels (which `space` of the height leaves free)."""
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, space, 1, 1))


def save(fig, path: Path) -> None:
    # No creation date in the file: the same data gives the same bytes.
    atomic.write_atomic(path, lambda tmp: fig.savefig(tmp, format="pdf",
                                                      metadata={"CreationDate": None}))
    plt.close(fig)


def pareto_front(points: list[dict]) -> list[dict]:
    """Points no other point beats with at most as many trainable parameters, by parameters."""
    front, best = [], -1.0
    for p in sorted(points, key=lambda p: (p["trainable"], -p["accuracy"])):
        if p["accuracy"] > best:
            front.append(p)
            best = p["accuracy"]
    return front


def accuracy_vs_params(points: list[dict], path: Path, pareto: bool = False) -> None:
    """points: {dataset, label, trainable, accuracy (0-1), err (0-1 or 0)}; `pareto` joins
    each dataset's Pareto-optimal points (most accurate for their parameter budget)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, 2.6))
        datasets = list(dict.fromkeys(p["dataset"] for p in points))
        labels = list(dict.fromkeys(p["label"] for p in points))
        colours = plt.get_cmap("tab10").colors
        if pareto:
            for i, d in enumerate(datasets):
                front = pareto_front([p for p in points if p["dataset"] == d])
                ax.step([p["trainable"] for p in front], [100 * p["accuracy"] for p in front],
                        where="post", color=colours[i % 10], lw=0.8, alpha=0.6)
        for p in points:
            ax.errorbar(p["trainable"], 100 * p["accuracy"], yerr=100 * p["err"] or None,
                        marker=MARKERS[labels.index(p["label"]) % len(MARKERS)], ms=5,
                        color=colours[datasets.index(p["dataset"]) % 10], ls="none", capsize=2)
        ax.set_xscale("log")
        ax.set_xlabel("trainable parameters (log scale)")
        ax.set_ylabel("test accuracy (%)")
        handles = [plt.Line2D([], [], color="0.3", marker=MARKERS[i % len(MARKERS)], ls="none",
                              label=lab) for i, lab in enumerate(labels)]
        handles += [plt.Line2D([], [], color=colours[i % 10], marker="s", ls="none", label=d)
                    for i, d in enumerate(datasets)]
        fig.legend(handles=handles, loc="center right", frameon=False)
        fig.tight_layout(rect=(0, 0, 0.55, 1))
        save(fig, path)


def learning_curves(panels: dict[str, dict[str, list[dict]]], path: Path) -> None:
    """panels: dataset -> {label -> epoch history}; validation accuracy and training loss."""
    with plt.rc_context(STYLE):
        n = len(panels)
        fig, axes = plt.subplots(2, n, figsize=(WIDTH, 3.4), squeeze=False, sharex="col")
        for j, (dataset, curves) in enumerate(panels.items()):
            for i, (label, hist) in enumerate(curves.items()):
                epochs = [h["epoch"] for h in hist]
                style = dict(marker=MARKERS[i % len(MARKERS)], ms=3, label=label)
                axes[0, j].plot(epochs, [100 * h["val_accuracy"] for h in hist], **style)
                axes[1, j].plot(epochs, [h["train_loss"] for h in hist], **style)
            axes[0, j].set_title(_title(dataset))
            axes[1, j].set_xlabel("epoch")
        axes[0, 0].set_ylabel("validation accuracy (%)")
        axes[1, 0].set_ylabel("training loss")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        # one row of up to four entries, else two rows: a longer row would widen the figure
        # past the text
        ncol = len(labels) if len(labels) <= 4 else -(-len(labels) // 2)
        rows = -(-len(labels) // ncol)
        fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False,
                   bbox_to_anchor=(0.5, -0.04))
        fig.tight_layout(rect=(0, 0.05 * rows, 1, 1))
        save(fig, path)


def confusion_matrices(panels: dict[str, dict[str, list[list[int]]]], path: Path) -> None:
    """panels: dataset -> {label -> confusion matrix}; rows normalised to recall."""

    with plt.rc_context(STYLE | {"axes.grid": False}):
        datasets = list(panels)
        labels = list(dict.fromkeys(lab for p in panels.values() for lab in p))
        fig, axes = plt.subplots(len(labels), len(datasets), squeeze=False,
                                 figsize=(WIDTH, 1.9 * len(labels) + 0.3))
        for j, d in enumerate(datasets):
            for i, lab in enumerate(labels):
                ax = axes[i, j]
                cm = np.asarray(panels[d].get(lab, [[0]]), dtype=float)
                recall = cm / np.maximum(cm.sum(1, keepdims=True), 1)
                image = ax.imshow(recall, vmin=0, vmax=1, cmap="Blues")
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(_title(d))
                if j == 0:
                    ax.set_ylabel(f"{lab}\ntrue class")
                if i == len(labels) - 1:
                    ax.set_xlabel("predicted class")
        fig.colorbar(image, ax=axes, shrink=0.6, label="fraction of the true class")
        save(fig, path)


def lora_ablation(groups: list[dict], path: Path) -> None:
    """Accuracy against LoRA rank (dropout settings marked apart) and inference time per image,
    unmerged and merged, against rank. groups: {r, dropout, accuracy, err, unmerged, merged}."""
    with plt.rc_context(STYLE):
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(WIDTH, 2.8))
        base = sorted((g for g in groups if not g["dropout"]), key=lambda g: g["r"])
        ax.errorbar([g["r"] for g in base], [100 * g["accuracy"] for g in base],
                    yerr=[100 * g["err"] for g in base], marker="o", ms=4, capsize=2,
                    label="LoRA dropout 0")
        for i, g in enumerate(g for g in groups if g["dropout"]):
            ax.errorbar([g["r"]], [100 * g["accuracy"]], yerr=[100 * g["err"]], capsize=2,
                        marker=MARKERS[(i + 1) % len(MARKERS)], ms=5, ls="none",
                        label=f"LoRA dropout {g['dropout']:g}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("LoRA rank r (log scale)")
        ax.set_ylabel("test accuracy (%)")
        bx.plot([g["r"] for g in base], [g["unmerged"] for g in base], marker="s", ms=4,
                color="0.2", label="unmerged adapters")
        bx.plot([g["r"] for g in base], [g["merged"] for g in base], marker="^", ms=4,
                color="0.55", label="merged into the weights")
        bx.set_xscale("log", base=2)
        bx.set_ylim(bottom=0)
        bx.set_xlabel("LoRA rank r (log scale)")
        bx.set_ylabel("inference time (ms / image)")
        handles = [h for a in (ax, bx) for h in a.get_legend_handles_labels()[0]]
        labels = [lab for a in (ax, bx) for lab in a.get_legend_handles_labels()[1]]
        legend_below(fig, handles, labels, ncol=3, space=0.2)
        save(fig, path)


def studies(panels: dict[str, dict[str, list[dict]]], bars: dict[str, tuple[float, float]],
            schedules: dict[str, list[dict]], path: Path) -> None:
    """Write-up 001's studies. Top: validation accuracy per epoch, one panel per study (setting ->
    epoch history), each with its legend below it. Bottom: the learning rate per epoch of each
    schedule; test accuracy per augmentation setting; and the train-test gap on its own scale
    (bars: name -> (accuracy, gap), fractions)."""
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(WIDTH, 6.2))
        grid = fig.add_gridspec(2, 3, height_ratios=(1.25, 1))
        for j, (study, curves) in enumerate(list(panels.items())[:3]):
            ax = fig.add_subplot(grid[0, j])
            for i, (setting, hist) in enumerate(curves.items()):
                ax.plot([h["epoch"] for h in hist], [100 * h["val_accuracy"] for h in hist],
                        marker=MARKERS[i % len(MARKERS)], ms=3, label=setting)
            ax.set_title(study)
            ax.set_xlabel("epoch")
            ax.set_ylabel("validation accuracy (%)" if j == 0 else "")
            ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
        ax = fig.add_subplot(grid[1, 0])
        for i, (setting, hist) in enumerate(schedules.items()):
            ax.plot([h["epoch"] for h in hist], [h["lr"] for h in hist],
                    marker=MARKERS[i % len(MARKERS)], ms=3, label=setting)
        ax.set_title("schedules")
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate at epoch end")
        if bars:
            names = list(bars)
            acc, gap = fig.add_subplot(grid[1, 1]), fig.add_subplot(grid[1, 2])
            acc.bar(range(len(names)), [100 * bars[k][0] for k in names], color="C0")
            gap.bar(range(len(names)), [100 * bars[k][1] for k in names], color="C1")
            gap.axhline(0, color="0.3", lw=0.6)
            for a, title, unit in ((acc, "test accuracy", "%"), (gap, "train-test gap",
                                                                  "points")):
                a.set_xticks(range(len(names)), names, rotation=45, ha="right")
                a.set_title(f"{title}, augmentation removed")
                a.set_ylabel(f"{title} ({unit})")
            low = min(100 * bars[k][0] for k in names)
            acc.set_ylim(max(0, low - 5), 100)
        fig.tight_layout(h_pad=1.0)
        save(fig, path)


def run_curves(hist: list[dict], title: str, path: Path) -> None:
    """One run's learning curves: loss and accuracy, training and validation, per epoch."""
    with plt.rc_context(STYLE):
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(WIDTH, 2.5))
        epochs = [h["epoch"] for h in hist]
        for split, mark in (("train", "o"), ("val", "s")):
            name = "training (augmented)" if split == "train" else "validation"
            ax.plot(epochs, [h[f"{split}_loss"] for h in hist], marker=mark, ms=3, label=name)
            bx.plot(epochs, [100 * h[f"{split}_accuracy"] for h in hist], marker=mark, ms=3,
                    label=name)
        ax.set_ylabel("cross-entropy loss")
        bx.set_ylabel("accuracy (%)")
        for a in (ax, bx):
            a.set_xlabel("epoch")
            a.set_title(title)
        legend_below(fig, *ax.get_legend_handles_labels(), ncol=2, space=0.16)
        save(fig, path)


def filter_responses(images, filters, responses, path: Path) -> None:
    """Sample images (rows) and the response of each shown first-layer filter (columns); the
    filters themselves, scaled to [0, 1] for display, head the columns."""

    with plt.rc_context(STYLE | {"axes.grid": False}):
        n_img, n_f = responses.shape[:2]
        fig, axes = plt.subplots(n_img + 1, n_f + 1, figsize=(WIDTH, 0.72 * (n_img + 1)))
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.spines[:].set_visible(False)
        axes[0, 0].text(0.5, 0.5, "filter", ha="center", va="center",
                        transform=axes[0, 0].transAxes)
        for j in range(n_f):
            f = filters[j].transpose(1, 2, 0)
            f = (f - f.min()) / max(float(np.ptp(f)), 1e-12)
            axes[0, j + 1].imshow(f if f.shape[-1] == 3 else f[..., 0], cmap="gray",
                                  interpolation="nearest")
            axes[0, j + 1].set_title(f"{j + 1}")
        for i in range(n_img):
            axes[i + 1, 0].imshow(images[i].transpose(1, 2, 0), interpolation="nearest")
            for j in range(n_f):
                r = responses[i, j]
                lim = max(float(abs(r).max()), 1e-12)  # white is zero: red +, blue -
                axes[i + 1, j + 1].imshow(r, cmap="RdBu_r", vmin=-lim, vmax=lim,
                                          interpolation="nearest")
        fig.tight_layout(pad=0.2)
        save(fig, path)


def stride_padding(maps: dict[tuple[int, int], object], kernel: int, path: Path) -> None:
    """One learned filter on one image at each (stride, padding), drawn to a common scale of
    input pixels so that the output sizes compare."""
    strides = sorted({s for s, _ in maps})
    pads = sorted({p for _, p in maps})
    with plt.rc_context(STYLE | {"axes.grid": False}):
        fig, axes = plt.subplots(len(strides), len(pads), squeeze=False,
                                 figsize=(WIDTH * 0.6, 0.62 * WIDTH * len(strides) / len(pads)))
        for i, s in enumerate(strides):
            for j, p in enumerate(pads):
                fmap = maps[(s, p)]
                ax = axes[i, j]
                lim = max(float(abs(fmap).max()), 1e-12)
                ax.imshow(fmap, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest",
                          extent=(0, fmap.shape[1] * s, fmap.shape[0] * s, 0))
                ax.set_title(f"stride {s}, padding {p}\n{fmap.shape[0]}x{fmap.shape[1]}",
                             fontsize=7)
                ax.set_xticks([])
                ax.set_yticks([])
        fig.suptitle(f"{kernel}x{kernel} filter; output side = floor((H + 2p - {kernel}) / s) + 1",
                     fontsize=7)
        fig.tight_layout()
        save(fig, path)


def loss_landscape(line, curves: dict[str, object], side, surfaces: dict[str, object],
                   path: Path) -> None:
    """Loss along one filter-normalised direction (left) and on a plane of two (contours), for
    each state (e.g. 'before training', 'after training')."""

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 1 + len(surfaces), figsize=(WIDTH, 2.6))
        for i, (name, loss) in enumerate(curves.items()):
            axes[0].plot(line, loss, marker=MARKERS[i % len(MARKERS)], ms=2, label=name)
        axes[0].set_xlabel("step along direction 1")
        axes[0].set_ylabel("training loss")
        axes[0].set_yscale("log")
        axes[0].set_title("1-D")
        for ax, (name, loss) in zip(axes[1:], surfaces.items(), strict=True):
            contours = ax.contour(side, side, np.log10(loss), levels=12, cmap="viridis",
                                  linewidths=0.7)
            ax.clabel(contours, contours.levels[::3], fontsize=MIN_POINTS,
                      fmt=lambda v: f"{10 ** v:.2g}")
            ax.plot(0, 0, "k+", ms=6)
            ax.set_xlabel("direction 1")
            ax.set_ylabel("direction 2")
            ax.set_title(f"2-D, {name}")
            ax.set_aspect("equal")
        legend_below(fig, *axes[0].get_legend_handles_labels(), ncol=2, space=0.14)
        save(fig, path)


def heatmaps(panels: dict[str, object], rows: list[str], cols: list[str], row_name: str,
             col_name: str, path: Path, diverged: dict[str, object] | None = None) -> None:
    """One heatmap of test accuracy (%) per panel, rows x cols, on one colour scale, each
    cell's value printed in it (a dagger where a run of the cell diverged)."""

    with plt.rc_context(STYLE | {"axes.grid": False}):
        values = np.array([np.asarray(v, dtype=float) for v in panels.values()])
        lo, hi = np.nanmin(values), np.nanmax(values)
        fig, axes = plt.subplots(1, len(panels), squeeze=False,
                                 figsize=(WIDTH, 0.9 + 0.5 * len(rows)))
        for ax, (title, grid) in zip(axes[0], panels.items(), strict=True):
            grid = np.asarray(grid, dtype=float)
            image = ax.imshow(grid, vmin=lo, vmax=hi, cmap="viridis")
            marks = np.asarray((diverged or {}).get(title, np.zeros(grid.shape, bool)))
            for (i, j), v in np.ndenumerate(grid):
                text = ("--" if np.isnan(v) else f"{v:.1f}") + ("$^\\dagger$" if marks[i, j]
                                                               else "")
                ax.text(j, i, text, ha="center", va="center", fontsize=MIN_POINTS,
                        color="white" if v < (lo + hi) / 2 else "black")
            ax.set_xticks(range(len(cols)), cols)
            ax.set_yticks(range(len(rows)), rows)
            ax.set_xlabel(col_name)
            ax.set_title(title)
        axes[0, 0].set_ylabel(row_name)
        fig.colorbar(image, ax=axes, shrink=0.8, label="test accuracy (%)")
        save(fig, path)
