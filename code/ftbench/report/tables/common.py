"""What every table kind shares: the caption's phrases, a row's formatted values, and the
number macros the prose cites (per configuration, per comparison, the best of each dataset)."""

from __future__ import annotations

from ftbench.report import sentences, stats
from ftbench.report.latex import (
    Tex,
    count,
    escape,
    macro_key,
    mean_std,
    num,
    pct,
    pvalue,
)
from ftbench.report.results import Group, TableResults


def caption(results: TableResults) -> str:
    return results.experiment.report.caption or results.experiment.title


def seeds_phrase(results: TableResults) -> Tex:
    """'mean $\\pm$ std over 3 seeds', or 'one seed': how many runs each cell averages."""
    n = len(results.seeds)
    return Tex(f"mean $\\pm$ std over {n} seeds" if n > 1 else "one seed")


def _group_macros(results: TableResults, g: Group) -> dict[str, str]:
    k = [results.name, *g.axes.values()]
    return {macro_key(*k, "acc"): mean_std(g.values("accuracy")),
            macro_key(*k, "f1"): mean_std(g.values("macro_f1")),
            macro_key(*k, "auc"): mean_std(g.values("macro_auc")),
            macro_key(*k, "train-s"): mean_std(g.values("train_s"), num),
            macro_key(*k, "trainable"): count(g.trainable),
            macro_key(*k, "total"): count(g.total),
            macro_key(*k, "trainable-pct"): num(100 * g.trainable / g.total, 2),
            macro_key(*k, "label"): escape(g.label),
            macro_key(*k, "epochs"): g.first["epochs"],
            macro_key(*k, "lr"): Tex(f"{float(g.first['lr']):g}"),
            macro_key(*k, "dataset"): escape(g.dataset)}


def common_macros(results: TableResults) -> dict[str, str]:
    """Per configuration, and averaged over each axis value: what the prose may cite."""
    name, rows = results.name, results.rows
    m = {macro_key(name, "runs"): str(len(rows)), macro_key(name, "seeds"): str(len(results.seeds)),
         macro_key(name, "seeds-phrase"): seeds_phrase(results),
         macro_key(name, "title"): escape(results.experiment.title),
         macro_key(name, "train-minutes"): num(sum(float(r["wall_s"]) for r in rows) / 60)}
    for g in results.groups:
        m |= _group_macros(results, g)
    means = [g.mean("accuracy") for g in results.groups]
    m[macro_key(name, "min-acc")], m[macro_key(name, "max-acc")] = pct(min(means)), pct(max(means))
    for axis in results.axes:
        for v in dict.fromkeys(r[f"axis_{axis}"] for r in rows):
            sel = [r for r in rows if r[f"axis_{axis}"] == v]
            m[macro_key(name, axis, v, "mean-acc")] = pct(stats.mean(r["accuracy"] for r in sel))
            label = sel[0]["dataset_display"] if axis == "dataset" else sel[0]["model_label"]
            m[macro_key(name, axis, v, "label")] = escape(label)
            m[macro_key(name, axis, v, "short")] = escape(short(label))
    if len(results.axes) > 2:  # each combination of the other axes, over the first (datasets)
        combos: dict[tuple, list[dict]] = {}
        for r in rows:
            combos.setdefault(tuple(r[f"axis_{a}"] for a in results.axes[1:]), []).append(r)
        for combo, sel in combos.items():
            m[macro_key(name, "mean", *combo, "acc")] = pct(stats.mean(r["accuracy"] for r in sel))
    return m


def comparison_macros(results: TableResults) -> dict[str, str]:
    """For each configuration against its baseline: the Holm-adjusted p, the difference, and a
    generated sentence (direction, size, significance, and the setting that differs)."""
    m = {}
    several = len({g.dataset for g in results.groups}) > 1
    for cmp in results.comparisons:
        if cmp.metric != "accuracy":
            continue
        k = [results.name, *cmp.other.axes.values()]
        m[macro_key(*k, "p")] = sentences.p_text(cmp)
        m[macro_key(*k, "diff")] = Tex(f"{100 * cmp.diff:+.1f}")
        m[macro_key(*k, "sentence")] = sentences.sentence(
            results, cmp, cmp.other.dataset if several else "")
    return m


def short(name: str) -> str:
    """'Digits (8x8, MNIST stand-in)' -> 'Digits': a dataset as a sentence names it."""
    return name.split(" (")[0]


def _counted(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def versus_macros(results: TableResults) -> dict[str, str]:
    """For each value of the compared axis, its accuracy comparisons with the baseline summed
    up: 'more accurate in 4 of 4 (by +13.9 to +23.4 points)' (the abstract cites these)."""
    groups: dict[str, list] = {}
    for c in results.comparisons:
        if c.metric == "accuracy":
            differing = [v for a, v in c.other.axes.items() if c.base.axes[a] != v]
            groups.setdefault("--".join(differing), []).append(c)
    m = {}
    for value, cmps in groups.items():
        n, points = len(cmps), [100 * c.diff for c in cmps]
        counts = [(sum(c.direction == d for c in cmps), word) for d, word in
                  ((1, "more accurate"), (-1, "less accurate"), (0, "not significantly different"))]
        parts = [f"{word} in {k} of {n}" if n > 1 else word for k, word in counts if k]
        spread = (f"{points[0]:+.1f} points" if n == 1
                  else f"{min(points):+.1f} to {max(points):+.1f} points")
        m[macro_key(results.name, "versus", value)] = escape(f"{_counted(parts)} ({spread})")
    return m


def best_macros(results: TableResults) -> dict[str, str]:
    """The most accurate configuration of each dataset (the first axis), by mean test
    accuracy: '<name> (95.4 $\\pm$ 0.1\\%)' each; and, as one phrase with its verb, the list
    that names a configuration once however many datasets it wins."""
    first = results.axes[0] if len(results.axes) > 1 else None
    blocks: dict[str, list[Group]] = {}
    for g in results.groups:
        blocks.setdefault(g.axes[first] if first else "", []).append(g)
    m, wins = {}, {}
    for value, groups in blocks.items():
        g = max(groups, key=lambda g: g.mean("accuracy"))
        where = f" on {escape(short(g.dataset))}" if first else ""
        score = f"{mean_std(g.values('accuracy'))}\\%{where}"
        m[macro_key(results.name, value, "best") if first else macro_key(results.name, "best")] \
            = Tex(f"{sentences.describe(g)} ({score})")
        wins.setdefault(sentences.describe(g), []).append(score)
    listed = [f"{name} ({_counted(scores)})" for name, scores in wins.items()]
    verb = ("the most accurate configuration is " if len(listed) == 1
            else "the most accurate configurations are ")
    m[macro_key(results.name, "best-list")] = Tex(verb + _counted(listed))
    return m


def p_of(results: TableResults) -> dict[str, float]:
    """configuration key -> its Holm-adjusted p against its baseline (a baseline has none)."""
    return {c.other.key: c.p_holm for c in results.comparisons if c.metric == "accuracy"}


def row_view(results: TableResults, g: Group) -> dict:
    """A configuration as a table row shows it: formatted, escaped LaTeX values."""
    p = p_of(results).get(g.key)
    return {
        "group": g, "axes": g.axes, "dataset": escape(g.dataset), "label": escape(g.label),
        "method": escape(g.method), "lora_r": g.lora_r, "diverged": g.status != "ok",
        "acc": mean_std(g.values("accuracy")), "f1": mean_std(g.values("macro_f1")),
        "auc": mean_std(g.values("macro_auc")), "p": pvalue(p) if p is not None
        else Tex("--"), "train_s": mean_std(g.values("train_s"), num),
        "per_epoch_s": mean_std(g.values("per_epoch_s"), num),
        "peak_mib": mean_std(g.values("peak_mib"), num), "trainable": count(g.trainable),
        "trainable_pct": num(100 * g.trainable / g.total, 2),
    }


def baseline_words(results: TableResults) -> str:
    r = results.experiment.report
    return r.baseline or ("the first row of its dataset" if len(results.axes) > 1
                          else "the first row")


def test_words(results: TableResults) -> Tex:
    """The caption's sentence on the p column."""
    n = len(results.seeds)
    if n < 2:
        return Tex("$p$: none, one seed gives no run-level spread to test against")
    return Tex(f"$p$: seed-paired $t$ test over the {n} training runs of each configuration "
               f"(Holm-adjusted within the table) against {escape(baseline_words(results))} "
               "(-- for that row)")
