"""CSV -> LaTeX: the entry points of `ftbench render`.

Everything a reader sees in the PDF comes through here from a CSV and the files of the runs it
collects. Nothing is typed in by hand. A table is drawn by the renderer of its kind
(`ftbench.report.tables`); the profile-wide parts (what produced the numbers, the compute,
and the claims of the write-ups against this build's findings) by `render_summary`.
"""

from __future__ import annotations

import re
from pathlib import Path

from ftbench.config import Experiment
from ftbench.report import claims, compare, stats, tables
from ftbench.report.aggregate import read_csv
from ftbench.report.calibration import Rates, calibration_table
from ftbench.report.deviations import deviations
from ftbench.report.latex import Tex, count, environment, escape, macro_key, macros_text, num
from ftbench.report.tuning import edges, read_scores
from ftbench.store import atomic
from ftbench.store.commit import git_commit

CLAIMS = Path(__file__).resolve().parents[3] / "paper" / "claims.yaml"


def render_table(experiment: Experiment, results: Path, generated: Path) -> None:
    tables.render_table(compare.load(experiment, results), generated)


def render_params(results: Path, generated: Path) -> None:
    rows = read_csv(Path(results) / "params.csv")
    m = {}
    for r in rows:
        k = [r["table"], *r["variant"].split("/"), f"{r['classes']}-classes"]
        m[macro_key("params", *k, "trainable")] = count(r["trainable_params"])
        m[macro_key("params", *k, "total")] = count(r["total_params"])
        m[macro_key("params", *k, "trainable-pct")] = num(
            100 * int(r["trainable_params"]) / int(r["total_params"]), 2)
        if r["lora_r"]:
            r_, alpha = int(r["lora_r"]), float(r["lora_alpha"])
            m[macro_key("params", *k, "lora-r")] = str(r_)
            m[macro_key("params", *k, "lora-alpha")] = f"{alpha:g}"
            m[macro_key("params", *k, "lora-scaling")] = f"{alpha / r_:g}"
            m[macro_key("params", *k, "lora-modules")] = escape(r["lora_modules"])
    table = environment().get_template("params_table.tex.j2").render(rows=rows)
    out = Path(generated) / "params"
    atomic.write_text(out / "macros.tex", macros_text(m))
    atomic.write_text(out / "table.tex", table)


def _profile_macros(profile: str, description: str, rows: list[dict]) -> dict[str, str]:
    first = rows[0] if rows else {}
    commits = sorted({(r.get("git_commit") or "unknown")[:12] for r in rows})
    built, dirty = git_commit()
    return {
        "profile": escape(profile), "is-tiny": "1" if profile == "tiny" else "0",
        "profile-description": escape(" ".join(description.split())),
        "hardware": escape("; ".join(sorted({r["device_name"] for r in rows})) or "none"),
        "runs": str(len(rows)),
        "compute-minutes": num(sum(float(r["wall_s"]) for r in rows) / 60),
        "torch": escape(first.get("torch", "")), "timm": escape(first.get("timm", "")),
        "peft": escape(first.get("peft", "")), "python": escape(first.get("python", "")),
        "torchvision": escape(first.get("torchvision", "")),
        "cuda": escape(", ".join(sorted({r["cuda"] for r in rows if r.get("cuda")})) or "none"),
        "commit": escape(", ".join(commits) or "unknown"),
        "dirty": "1" if any(r.get("git_dirty") == "True" for r in rows) else "0",
        "built-commit": escape(built[:12] + (" (with uncommitted changes)" if dirty else "")),
        "threads": escape(", ".join(sorted({r.get("threads", "") for r in rows} - {""}))
                          or "unknown"),
    }


def render_summary(experiments: list[Experiment], profile: str, description: str,
                   results: Path, generated: Path, paper: list[Experiment] | None = None) -> None:
    """Profile-wide: what produced the numbers, the compute it took, and claims versus
    findings."""
    rows = []
    for e in experiments:
        if e.runs:
            rows += read_csv(Path(results) / f"{e.name}.csv")
    per_table = [{"name": e.name, "title": e.title, "runs": len(e.runs),
                  "minutes": sum(float(r["wall_s"]) for r in rows if r["table"] == e.name) / 60}
                 for e in experiments if e.runs]
    compute = environment().get_template("compute_table.tex.j2").render(
        tables=per_table, total=sum(t["minutes"] for t in per_table), runs=len(rows))
    tables = {e.name: compare.load(e, results) for e in experiments if e.runs}
    comparisons = compare.checked_rows(list(tables.values()), results)
    found = claims.findings(CLAIMS, tables, comparisons, results, experiments)
    ratios = _configuration_ratios(comparisons)
    rates, calibration = _calibration(comparisons, ratios)
    m = (_profile_macros(profile, description, rows) | _claims_macros(found)
         | _seeds_macros(experiments) | _stats_macros(comparisons, ratios, rates, experiments)
         | _tuning_macros(Path(results).parent / "tuning" / f"{profile}.csv", experiments))
    atomic.write_text(Path(generated) / "compute.tex", compute)
    atomic.write_text(Path(generated) / "calibration.tex", calibration)
    atomic.write_text(Path(generated) / "claims.tex", environment().get_template(
        "claims_table.tex.j2").render(findings=[_claim_view(f) for f in found]))
    tables_ = [t | {"rows": [{k: breakable(v) for k, v in r.items()} for r in t["rows"]]}
               for t in deviations(paper if paper is not None else experiments, experiments)]
    atomic.write_text(Path(generated) / "deviations.tex", environment().get_template(
        "deviations_table.tex.j2").render(profile=profile, tables=tables_))
    atomic.write_text(Path(generated) / "profile.tex", macros_text(m))


def _seeds_macros(experiments: list[Experiment]) -> dict[str, str]:
    """'Every table runs 3 random seeds per configuration', or which tables run how many."""
    by_count: dict[int, list[str]] = {}
    for e in experiments:
        if e.runs:
            seeds = len({r.config.seed for r in e.runs})
            by_count.setdefault(seeds, []).append(f"\\texttt{{{escape(e.name)}}}")
    if len(by_count) == 1:
        (n,) = by_count
        text = f"Every table runs {n} random seed{'s' if n > 1 else ''} per configuration."
    else:
        parts = [f"{', '.join(names)} {'runs' if len(names) == 1 else 'run'} {n} random "
                 f"seed{'s' if n > 1 else ''} per configuration"
                 for n, names in sorted(by_count.items(), reverse=True)]
        text = "; ".join(parts) + "."
    last = max((r.config.seed for e in experiments for r in e.runs), default=0)
    return {"seeds/summary": Tex(text), "seeds/last": str(last)}


def _configuration_ratios(comparisons: list[dict]) -> list[float]:
    """Each configuration's run-level variance ratio of accuracy, once per configuration."""
    seen = {}
    for r in comparisons:
        for side in ("a", "b"):
            if r["metric"] == "accuracy" and r[f"variance_ratio_{side}"]:
                seen[(r["table"], r[f"config_{side}"])] = float(r[f"variance_ratio_{side}"])
    return sorted(seen.values())


def _images_only(rows: list[dict]) -> int:
    """Accuracy comparisons significant by the image-level test (Holm within each table, as
    the run-level one) but not by the run-level test."""
    found = 0
    for table in dict.fromkeys(r["table"] for r in rows):
        these = [r for r in rows if r["table"] == table]
        adjusted = stats.holm([float(r["images_p"]) if r["images_p"] else None for r in these])
        found += sum(r["significant"] != "True" and p is not None and p < stats.ALPHA
                     for r, p in zip(these, adjusted, strict=True))
    return found


def _pretraining_text(experiments: list[Experiment]) -> Tex:
    """Whether the seeds of a configuration start from one pretraining run or one each: what
    the run-level spread holds."""
    per_config: dict[tuple, set] = {}
    for e in experiments:
        for r in e.runs:
            if r.config.model.pretrained.startswith("run:"):
                key = (e.name, r.run_id.rsplit("--s", 1)[0])
                per_config.setdefault(key, set()).add(r.config.model.pretrained)
    if not per_config:
        return Tex("The published weights of each backbone are one pretraining draw, which every "
                   "seed shares: the spread over seeds holds no pretraining draw.")
    if all(len(refs) == 1 for refs in per_config.values()):
        return Tex("In this build every seed of a configuration starts from the same pretraining "
                   "run of its backbone, so the spread over seeds holds no pretraining draw, and "
                   "a comparison of architectures rests on one draw of each backbone.")
    return Tex("Seed $s$ of every fine-tuning configuration starts from pretraining seed $s$ of "
               "its backbone, so the spread over seeds holds the pretraining draw too.")


def _stats_macros(comparisons: list[dict], ratios: list[float], rates: list[Rates],
                  experiments: list[Experiment]) -> dict[str, str]:
    """The run-level test, this build's variance ratios and the calibration that covers them."""
    rows = [r for r in comparisons if r["metric"] == "accuracy"]
    design = rates[0].design
    return {
        "stats/alpha": f"{stats.ALPHA:g}", "stats/level": f"{100 * (1 - stats.ALPHA):g}",
        "stats/comparisons": str(len(rows)),
        "stats/significant": str(sum(r["significant"] == "True" for r in rows)),
        "stats/images-only": str(_images_only(rows)),
        "stats/pretraining": _pretraining_text(experiments),
        "stats/configurations": str(len(ratios)),
        "stats/ratio/median": num(ratios[len(ratios) // 2] if ratios else 1.0, 1),
        "stats/ratio/max": num(ratios[-1] if ratios else 1.0, 1),
        "stats/calibration/comparisons": count(design.comparisons),
        "stats/calibration/seeds": str(design.seeds),
        "stats/calibration/images": count(design.images),
        "stats/calibration/t-max": num(100 * max(r.seed_paired_t for r in rates), 1),
        "stats/calibration/flip-max": num(100 * max(r.sign_flip for r in rates), 1),
        "stats/calibration/mc-error": num(100 * rates[0].monte_carlo_error, 1),
    }


def _calibration(comparisons: list[dict], ratios: list[float]) -> tuple[list[Rates], str]:
    """The simulated rejection rates over the ratios this build shows, and their table."""
    seeds = max((int(r["seeds"]) for r in comparisons if r["metric"] == "accuracy"), default=3)
    rates = calibration_table(ratios, max(seeds, 2))
    rows = [{"target": num(r.design.ratio, 0), "reached": num(r.ratio, 1),
             "backbones": "one" if r.design.shared_backbone else "two",
             "t": num(100 * r.seed_paired_t, 1), "flip": num(100 * r.sign_flip, 1)}
            for r in rates]
    observed = (f"ratios from {ratios[0]:.1f} to {ratios[-1]:.1f} (median "
                f"{ratios[len(ratios) // 2]:.1f})" if ratios else "no ratios")
    design = rates[0].design
    table = environment().get_template("calibration_table.tex.j2").render(
        rows=rows, alpha=f"{stats.ALPHA:g}", comparisons=count(design.comparisons),
        seeds=design.seeds, images=count(design.images), observed=observed,
        mc_error=num(100 * rates[0].monte_carlo_error, 1))
    return rates, table


def breakable(text: str) -> Tex:
    """Escaped text that may break after '_', '.', '/' and '-': timm tags have no spaces."""
    return Tex(re.sub(r"(\\_|[./-])", r"\1\\allowbreak{}", escape(text)))


def _tuning_macros(path: Path, experiments: list[Experiment]) -> dict[str, str]:
    """What `make tune` chose, and whether every choice lies inside its grid."""
    m = {}
    for e in experiments:
        if e.tune.key:
            m[macro_key("tuning", e.name, "grid")] = escape(
                ", ".join(f"{v:g}" for v in sorted(e.tune.values)))
            m[macro_key("tuning", e.name, "target")] = num(100 * e.tune.target, 0)
    # The summary sentence is about choices of the best score; a target rule (the pretraining
    # length: the fewest epochs that reach it) stops at its first success and is stated apart.
    best_of = {e.name for e in experiments if e.tune.key and not e.tune.target}
    rows = [r for r in (read_scores(path) if path.exists() else []) if r["table"] in best_of]
    if not rows:
        return m | {"tuning/summary": Tex("no setting was tuned")}
    chosen = [r for r in rows if r["chosen"] == "True"]
    at_edge = edges(rows, experiments)
    sizes = sorted({sum(1 for x in rows if (x["table"], x["run_id"]) == (r["table"], r["run_id"]))
                    for r in chosen})
    grid = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
    where = ("every chosen value strictly inside its grid" if not at_edge else
             f"{len(at_edge)} of them at an edge of its grid ({escape(', '.join(at_edge))})")
    m["tuning/summary"] = Tex(f"{len(chosen)} configurations, each choosing among {grid} "
                              f"values, {where}")
    return m


def _claim_view(f: claims.Finding) -> dict:
    quote = " \\ldots{} ".join(escape(q) for q in f.claim.quote)
    verdict = f.verdict + (" in direction" if f.direction_only and f.verdict in (
        claims.SUPPORTED, claims.CONTRADICTED) else "")
    measured = f.measured + ("; its size is not measurable on a CPU" if f.direction_only
                             else "")
    return {"writeup": escape(f.claim.writeup), "statement": escape(f.claim.statement),
            "quote": Tex(f"``{quote}''"), "where": escape(" / ".join(f.claim.where)),
            "claim": escape(f.claim.claim), "measured": Tex(measured),
            "verdict": escape(verdict)}


def verdict_counts(found: list[claims.Finding]) -> str:
    """'2 supported, 1 contradicted and 1 not measurable at this scale'."""
    parts = [f"{n} {v}" for v in claims.VERDICTS
             if (n := sum(f.verdict == v for f in found))]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _claims_macros(found: list[claims.Finding]) -> dict[str, str]:
    """Counts of the verdicts, in all and for each kind of statement (reported results,
    expected results, goals, future work), which the abstract keeps apart."""
    verdicts = [f.verdict for f in found]
    m = {"claims/count": str(len(found)),
         **{macro_key("claims", v): str(verdicts.count(v)) for v in claims.VERDICTS}}
    for statement in claims.STATEMENTS:
        these = [f for f in found if f.claim.statement == statement]
        key = macro_key("claims", statement.replace(" ", "-"))
        m[f"{key}/count"] = str(len(these))
        m[f"{key}/verdicts"] = escape(verdict_counts(these) if these else "none")
    return m
