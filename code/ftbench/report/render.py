"""CSV -> LaTeX: the entry points of `ftbench render`.

Everything a reader sees in the PDF comes through here from a CSV and the files of the runs it
collects. Nothing is typed in by hand. A table is drawn by the renderer of its kind
(`ftbench.report.tables`); the profile-wide parts (what produced the numbers, the compute,
and the claims of the seeds against this build's findings) by `render_summary`.
"""

from __future__ import annotations

from pathlib import Path

from ftbench import atomic
from ftbench.config import Experiment
from ftbench.report import claims, tables
from ftbench.report.aggregate import read_csv
from ftbench.report.latex import Tex, count, environment, escape, macro_key, macros_text, num
from ftbench.report.results import TableResults

CLAIMS = Path(__file__).resolve().parents[3] / "paper" / "claims.yaml"


def render_table(experiment: Experiment, results: Path, generated: Path) -> None:
    tables.render_table(TableResults.load(experiment, results), generated)


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
    table = environment().get_template("params_table.tex.j2").render(rows=rows)
    out = Path(generated) / "params"
    atomic.write_text(out / "macros.tex", macros_text(m))
    atomic.write_text(out / "table.tex", table)


def _profile_macros(profile: str, description: str, rows: list[dict]) -> dict[str, str]:
    from ftbench.provenance import git_commit

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
                   results: Path, generated: Path) -> None:
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
    found = claims.findings(CLAIMS, experiments, results)
    m = _profile_macros(profile, description, rows) | _claims_macros(found)
    atomic.write_text(Path(generated) / "compute.tex", compute)
    atomic.write_text(Path(generated) / "claims.tex", environment().get_template(
        "claims_table.tex.j2").render(findings=[_claim_view(f) for f in found]))
    atomic.write_text(Path(generated) / "profile.tex", macros_text(m))


def _claim_view(f: claims.Finding) -> dict:
    return {"seed": escape(f.claim.seed), "claim": escape(f.claim.claim),
            "seed_says": escape(f.claim.seed_says), "measured": Tex(f.measured),
            "verdict": escape(f.verdict)}


def _claims_macros(found: list[claims.Finding]) -> dict[str, str]:
    verdicts = [f.verdict for f in found]
    return {"claims/count": str(len(found)),
            **{macro_key("claims", v): str(verdicts.count(v))
               for v in (claims.SUPPORTED, claims.CONTRADICTED, claims.NOT_SIGNIFICANT,
                         claims.NOT_MEASURABLE)}}
