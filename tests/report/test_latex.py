"""LaTeX rendering: every string from data is escaped; numbers are formatted one way."""

from __future__ import annotations

from ftbench.report.latex import Tex, count, environment, escape, macro_key, mean_std, pct


def test_escape_covers_every_special_character():
    assert escape(r"a&b%c$d#e_f{g}h~i^j\k") == (
        r"a\&b\%c\$d\#e\_f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k")


def test_template_variables_are_escaped_unless_marked_tex():
    t = environment().from_string(r"\VAR{name} & \VAR{value}")
    assert t.render(name="R&D_50%", value=Tex(r"$\pm$")) == r"R\&D\_50\% & $\pm$"


def test_number_formats():
    assert pct(0.93125) == "93.1"
    assert count(1257317) == "1{,}257{,}317"
    assert mean_std([0.9]) == "90.0"
    assert mean_std([0.9, 0.8]) == r"85.0$\pm$7.1"
    assert macro_key("t", "cifar_10", "acc") == "t/cifar-10/acc"


def test_pareto_front_keeps_only_undominated_points():
    from ftbench.report.figures import pareto_front

    pts = [{"trainable": 10, "accuracy": 0.5}, {"trainable": 100, "accuracy": 0.4},
           {"trainable": 1000, "accuracy": 0.9}, {"trainable": 10, "accuracy": 0.3},
           {"trainable": 50, "accuracy": 0.7}]
    front = pareto_front(pts)
    assert [(p["trainable"], p["accuracy"]) for p in front] == [(10, 0.5), (50, 0.7), (1000, 0.9)]


def test_every_kind_of_table_has_a_renderer():
    import typing

    from ftbench.config import ReportConfig
    from ftbench.report import tables
    from ftbench.report.tables import ablation, benchmark, grid, paired, study  # noqa: F401

    kinds = typing.get_args(typing.get_type_hints(ReportConfig)["table"])
    assert set(kinds) == set(tables.RENDERERS)
