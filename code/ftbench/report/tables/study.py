"""A study table: the main setting of write-up 001 and its ablations, each changing one thing, with
the train-test gap; the studies' curves, and the looks inside the main run's network."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ftbench.report import figures
from ftbench.report.latex import Tex, environment, escape, macro_key, mean_std, num
from ftbench.report.results import TableResults
from ftbench.report.sentences import differences, gap_sentence, settings_text
from ftbench.report.tables.common import caption, row_view, seeds_phrase, test_words
from ftbench.report.tables.registry import Rendered, renderer


def _studies(results: TableResults, out: Path) -> dict[str, str]:
    report, name = results.experiment.report, results.name
    by_setting = {g.axes["setting"]: g for g in results.groups}
    hist = {k: results.history(g.run_id(results.first_seed)) for k, g in by_setting.items()}
    panels = {s: {k: hist[k] for k in keys if k in hist}
              for s, keys in report.studies.items() if s != "augmentation"}
    removed = [k for k in report.studies.get("augmentation", []) if k in by_setting]
    bars = {k: (by_setting[k].mean("accuracy"), by_setting[k].gap / 100) for k in removed}
    figures.studies(panels, bars, panels.get("schedule", {}), out / "fig-studies.pdf")
    main = report.main or next(iter(by_setting))
    figures.run_curves(hist[main], f"{main} ({by_setting[main].label})", out / "fig-curves.pdf")
    m = {macro_key(name, k, "gap"): num(g.gap) for k, g in by_setting.items()}
    for k in removed:
        if k != main:
            m[macro_key(name, k, "gap-sentence")] = gap_sentence(
                by_setting[main], by_setting[k], k.removeprefix("no-"))
    return m | _probes(results, by_setting[main].run_id(results.first_seed), out)


def _probes(results: TableResults, run_id: str, out: Path) -> dict[str, str]:
    """The main run's filters, stride and padding, and loss landscape (ftbench.train.probes)."""
    path = results.run_folder(run_id) / "probes.npz"
    if not path.exists():
        return {}
    with np.load(path) as z:
        a = {k: z[k] for k in z.files}
    figures.filter_responses(a["images"], a["filters"], a["responses"], out / "fig-filters.pdf")
    maps = {(int(k[6]), int(k[-1])): v for k, v in a.items() if k.startswith("stride")}
    figures.stride_padding(maps, a["filters"].shape[-1], out / "fig-stride-padding.pdf")
    names = {"init": "before training", "trained": "after training"}
    figures.loss_landscape(a["line"], {v: a[f"loss_1d_{k}"] for k, v in names.items()},
                           a["side"], {v: a[f"loss_2d_{k}"] for k, v in names.items()},
                           out / "fig-landscape.pdf")
    m, mid = {}, len(a["line"]) // 2
    for k in names:
        line, plane = a[f"loss_1d_{k}"], a[f"loss_2d_{k}"]
        key = [results.name, "landscape", k]
        m[macro_key(*key, "centre")] = num(line[mid], 2)
        m[macro_key(*key, "ends")] = Tex(f"{line[0]:.2f} and {line[-1]:.2f}")
        m[macro_key(*key, "plane-max")] = num(plane.max(), 2)
    m[macro_key(results.name, "probe", "kernel")] = str(a["filters"].shape[-1])
    m[macro_key(results.name, "probe", "side")] = str(a["images"].shape[-1])
    m[macro_key(results.name, "probe", "images")] = str(results.summary(run_id).probe["images"])
    return m


def changes(results: TableResults, main, g) -> Tex:
    """What a row changes against the main setting, read from the two resolved configs."""
    if g is main:
        return Tex("(the main setting)")
    diffs = differences(results.config(main), results.config(g))
    return escape(settings_text(diffs, 2)) if diffs else Tex("nothing")


@renderer("study")
def study(results: TableResults, out: Path) -> Rendered:
    macros = _studies(results, out)
    by_setting = {g.axes["setting"]: g for g in results.groups}
    main = by_setting[results.experiment.report.main or next(iter(by_setting))]
    rows = [row_view(results, g) | {
        "setting": escape(g.axes["setting"]), "changes": changes(results, main, g),
        "train_acc": mean_std(g.values("train_accuracy")), "gap": num(g.gap)}
        for g in results.groups]
    table = environment().get_template("study_table.tex.j2").render(
        rows=rows, caption=caption(results), label=f"tab:{results.name}",
        seeds=seeds_phrase(results), test=test_words(results),
        dataset=results.groups[0].dataset, model=results.groups[0].label)
    return Rendered(table, macros)
