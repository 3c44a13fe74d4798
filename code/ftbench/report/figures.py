"""Figures as vector PDF in one print-readable style (labels with units, legends)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ftbench import atomic  # noqa: E402

STYLE = {
    "font.family": "serif", "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
    "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True,
    "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "pdf.fonttype": 42, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
}
MARKERS = "osD^vP*X"
WIDTH = 6.5  # inches: the text width of the paper


def save(fig, path: Path) -> None:
    # No creation date in the file: the same data gives the same bytes.
    atomic.write_atomic(path, lambda tmp: fig.savefig(tmp, format="pdf",
                                                      metadata={"CreationDate": None}))
    plt.close(fig)


def accuracy_vs_params(points: list[dict], path: Path) -> None:
    """points: {dataset, label, trainable, accuracy (0-1), err (0-1 or 0)}."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH / 2, 2.3))
        datasets = list(dict.fromkeys(p["dataset"] for p in points))
        labels = list(dict.fromkeys(p["label"] for p in points))
        colours = plt.get_cmap("tab10").colors
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
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
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
            axes[0, j].set_title(dataset)
            axes[1, j].set_xlabel("epoch")
        axes[0, 0].set_ylabel("validation accuracy (%)")
        axes[1, 0].set_ylabel("training loss")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False,
                   bbox_to_anchor=(0.5, -0.04))
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        save(fig, path)
