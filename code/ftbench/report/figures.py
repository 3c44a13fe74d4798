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


def _title(name: str) -> str:
    """Panel titles on two lines: 'Digits (8x8, MNIST stand-in)' -> name, then the note."""
    return name.replace(" (", "\n(", 1)
WIDTH = 6.5  # inches: the text width of the paper


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
        fig, ax = plt.subplots(figsize=(WIDTH / 2, 2.3))
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
            axes[0, j].set_title(_title(dataset))
            axes[1, j].set_xlabel("epoch")
        axes[0, 0].set_ylabel("validation accuracy (%)")
        axes[1, 0].set_ylabel("training loss")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False,
                   bbox_to_anchor=(0.5, -0.04))
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        save(fig, path)


def confusion_matrices(panels: dict[str, dict[str, list[list[int]]]], path: Path) -> None:
    """panels: dataset -> {label -> confusion matrix}; rows normalised to recall."""
    import numpy as np

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
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(WIDTH, 2.2))
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
        ax.legend(frameon=False)
        bx.plot([g["r"] for g in base], [g["unmerged"] for g in base], marker="o", ms=4,
                label="unmerged adapters")
        bx.plot([g["r"] for g in base], [g["merged"] for g in base], marker="s", ms=4,
                label="merged into the weights")
        bx.set_xscale("log", base=2)
        bx.set_ylim(bottom=0)
        bx.set_xlabel("LoRA rank r (log scale)")
        bx.set_ylabel("inference time (ms / image)")
        bx.legend(frameon=False)
        fig.tight_layout()
        save(fig, path)
