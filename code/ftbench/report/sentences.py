"""The sentences the paper says about its comparisons, generated so that they are true of the
data: the direction, size and significance of a difference; the setting that differs between
the two configurations (read from their resolved configs, not from their names); "widens" and
"narrows" by the size of a gap; ratios as "takes 1.25 times as long", never "0.80 times as fast".
"""

from __future__ import annotations

import math

from ftbench.report.compare import EXACT, Comparison
from ftbench.report.latex import Tex, escape, pct, pvalue
from ftbench.report.results import Group, TableResults

# How a resolved config key reads in a sentence; keys not listed read as the key itself
SETTINGS = {
    "train.lr": "learning rate", "train.optimizer": "optimizer", "train.schedule": "schedule",
    "train.batch_size": "batch size", "train.weight_decay": "weight decay",
    "train.grad_clip": "gradient clipping", "train.epochs": "epochs",
    "method.r": "rank", "method.alpha": "alpha", "method.dropout": "LoRA dropout",
    "method.targets": "LoRA targets", "data.augment": "augmentation", "data.mixup": "MixUp alpha",
    "data.cutmix": "CutMix alpha", "data.mix_prob": "share of mixed batches",
    "train.label_smoothing": "label smoothing",
}
# What does not change what is trained: what a run keeps or measures afterwards, and names
IGNORED = ("seed", "threads", "device", "model.label", "data.label", "probe.", "eval_train",
           "merge_check", "save_backbone", "train.save_weights", "train.eval_batch_size")
LORA_ONLY = ("method.r", "method.alpha", "method.dropout", "method.targets")


def flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in config.items():
        out |= flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
    return out


def differences(a: dict, b: dict) -> list[tuple[str, object, object]]:
    """(key, a's value, b's value) of every setting that differs between two resolved configs,
    leaving out what does not change training and LoRA's settings where neither uses LoRA."""
    fa, fb = flat(a), flat(b)
    lora = "lora" in (fa.get("method.name"), fb.get("method.name"))
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k) and not k.startswith(IGNORED)
            and (lora or k not in LORA_ONLY)]


def _value(v) -> str:
    if isinstance(v, list):
        return ", ".join(map(str, v)) if v else "none"
    return f"{v:g}" if isinstance(v, float) else str(v)


def settings_text(diffs: list[tuple], side: int) -> str:
    """'learning rate 0.0001' or 'optimizer sgd and schedule cosine_restarts' (side 1: a's
    values, 2: b's)."""
    parts = [f"{SETTINGS.get(d[0], d[0])} {_value(d[side])}" for d in diffs]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def describe(g: Group) -> str:
    r = f" ($r{{=}}{g.lora_r}$)" if g.lora_r else ""
    return f"{escape(g.method)}{r} on the {escape(g.label)}"


def p_text(cmp: Comparison) -> Tex:
    if cmp.test == EXACT:
        return Tex("exact")
    if cmp.p_holm is None:
        return Tex("no run-level test with one seed")
    return Tex(f"$p_\\mathrm{{Holm}} {'=' if cmp.p_holm >= 0.001 else ''}"
               f"{pvalue(cmp.p_holm).replace('$', '')}$")


def seeds_text(cmp: Comparison) -> str:
    if cmp.seeds == 1:
        return "one seed"
    return f"{cmp.seeds} seeds, the same sign in {cmp.agreeing}"


def _names(results: TableResults, cmp: Comparison) -> tuple[str, str]:
    """(subject, object): by method and model where those differ; where they do not, the same
    method and model "with" each configuration's values of the settings that differ."""
    a, b = describe(cmp.base), describe(cmp.other)
    diffs = [] if a != b else differences(results.config(cmp.base), results.config(cmp.other))
    if not diffs:
        return b, a
    return (f"{b} with {escape(settings_text(diffs, 2))}",
            f"with {escape(settings_text(diffs, 1))}")


def sentence(results: TableResults, cmp: Comparison, where: str = "") -> Tex:
    """One sentence on an accuracy comparison: direction, size and significance (LaTeX)."""
    subject, obj = _names(results, cmp)
    at = f" on {escape(where)}" if where else ""
    values = (f"{pct(cmp.other.mean('accuracy'))}\\% against "
              f"{pct(cmp.base.mean('accuracy'))}\\%")
    points = 100 * cmp.diff
    if cmp.significant:
        more = "more" if points > 0 else "less"
        text = (f"{subject} is {abs(points):.1f} points {more} accurate than {obj}{at} "
                f"({values}; {p_text(cmp)}, {seeds_text(cmp)}).")
    else:
        text = (f"{subject} and {obj} cannot be told apart{at} ({values}, a difference of "
                f"{points:+.1f} points; {p_text(cmp)}, {seeds_text(cmp)}).")
    return Tex(text[:1].upper() + text[1:])


def ratio_words(ratio: float, longer: str = "as long", shorter: str = "as fast") -> str:
    """1.25 -> 'takes 1.25 times as long'; 0.8 -> 'is 1.25 times as fast' (never a factor
    below 1)."""
    if math.isnan(ratio):
        return "cannot be compared (a measured value is zero)"
    if ratio >= 1:
        return f"takes {ratio:.2f} times {longer}"
    return f"is {1 / ratio:.2f} times {shorter}"


def memory_words(ratio: float) -> str:
    if math.isnan(ratio):
        return "cannot be compared (a measured value is zero)"
    return f"needs {ratio:.2f} times as much training memory"


def interval_text(cmp: Comparison) -> str:
    """'1.25 [1.10, 1.42]' or '1.25, exact'."""
    if cmp.test == EXACT:
        return f"{cmp.diff:.2f}, the same in every seed"
    if cmp.p_holm is None:
        return f"{cmp.diff:.2f}, {p_text(cmp)}"
    return f"95\\% interval {cmp.low:.2f} to {cmp.high:.2f}, {p_text(cmp)}"


def gap_sentence(main: Group, other: Group, setting: str) -> Tex:
    """How removing one thing moves the train-test gap: 'widens' and 'narrows' by its size."""
    before, after = main.gap, other.gap
    what = f"without {escape(setting)} the gap"
    if before * after < 0:
        return Tex(f"{what} changes sign, from {before:.1f} to {after:.1f} points")
    if round(abs(after), 1) == round(abs(before), 1):
        return Tex(f"{what} stays at {after:.1f} points")
    verb = "widens" if abs(after) > abs(before) else "narrows"
    return Tex(f"{what} {verb} from {before:.1f} to {after:.1f} points")
