"""What two builds conclude, compared (ftbench.report.conclusions): a comparison significant in
either build keeps its sign, its significance changes only where p_holm is borderline in both,
every claim keeps its verdict, and a comparison in one build only is a disagreement. The command
(`ftbench compare A B --conclusions`): tests/tools/test_resultsdiff.py."""

from __future__ import annotations

from ftbench.report.conclusions import Build, agree, judge, sign


def _row(diff: float, p_holm: float | None, kind: str = "difference", metric="accuracy",
         config_b: str = "b") -> dict:
    significant = diff != (1.0 if kind == "ratio" else 0.0) if p_holm is None else p_holm < 0.05
    return {"table": "t", "config_a": "a", "config_b": config_b, "metric": metric, "kind": kind,
            "diff": repr(diff), "p_holm": "" if p_holm is None else repr(p_holm),
            "significant": str(significant)}


def test_the_same_conclusion_in_other_digits_agrees():
    assert judge(_row(0.05, 0.001), _row(0.04, 0.0003)) is None
    assert judge(_row(0.01, 0.6), _row(-0.01, 0.9)) is None  # neither significant: no sign
    assert judge(_row(1.3, 0.01, "ratio"), _row(1.2, 0.02, "ratio")) is None


def test_a_significant_comparison_must_keep_its_sign():
    change = judge(_row(0.05, 0.001), _row(-0.05, 0.001))
    assert change.fails and change.why == "the sign differs"
    # a ratio's sign is its log's: above or below 1
    assert sign(_row(0.8, 0.01, "ratio")) == -1 and sign(_row(1.2, 0.01, "ratio")) == 1
    assert judge(_row(1.3, 0.01, "ratio"), _row(0.8, 0.01, "ratio")).fails
    # significant in one build, the other way round (not significant) in the other
    assert "the sign differs" in judge(_row(0.05, 0.01), _row(-0.01, 0.1)).why


def test_significance_may_change_only_where_p_holm_is_borderline_in_both():
    borderline = judge(_row(0.05, 0.04), _row(0.04, 0.06))
    assert not borderline.fails and "p_holm within 0.005-0.2 in both" in borderline.why
    assert borderline.line().startswith(
        "borderline: t b vs a accuracy: the first build diff +0.0500 p_holm 0.04 (significant), "
        "the second build diff +0.0400 p_holm 0.06: significant in the first build only")
    for first, second in ((0.001, 0.06), (0.04, 0.3), (0.004, 0.1)):
        change = judge(_row(0.05, first), _row(0.05, second))
        assert change.fails and "not within 0.005-0.2 in both" in change.why, (first, second)
    # an exact row (no test) is never borderline
    assert judge(_row(1.2, None, "ratio"), _row(1.0, None, "ratio")).fails


def test_agree_counts_and_names_every_disagreement():
    first = Build([_row(0.05, 0.001), _row(0.02, 0.04, config_b="c"),
                   _row(0.01, 0.5, config_b="d"), _row(1.5, 0.01, "ratio", "per_epoch_s")],
                  {"claim 1": "supported", "claim 2": "not significant"})
    second = Build([_row(-0.05, 0.001), _row(0.02, 0.08, config_b="c"),
                    _row(0.01, 0.5, config_b="e"), _row(0.7, 0.01, "ratio", "per_epoch_s")],
                   {"claim 1": "contradicted", "claim 2": "not significant"})
    outcome = agree(first, second)
    assert not outcome.agree
    lines = outcome.lines(("A", "B"))
    assert [line.split(":")[0] for line in lines] == [  # in key order, then the verdicts
        "disagrees", "disagrees", "borderline", "disagrees", "disagrees", "disagrees"]
    assert "t d vs a accuracy: A diff +0.0100 p_holm 0.5, B absent: only in A" in (
        "\n".join(lines))
    assert lines[-1] == "disagrees: claim 1: A supported, B contradicted: the verdict differs"
    assert outcome.summary() == ("5 comparisons, 3 significant in either, 1 borderline changes "
                                 "listed, 1 of 2 verdicts equal: 5 disagreements")
    # a retrained run measured its times elsewhere: its ratios of times are not judged
    quiet = agree(first, second, measured=False)
    assert quiet.skipped == 1 and quiet.disagreements == 4 and "1 comparisons of measured" in (
        quiet.summary())


def test_two_builds_that_agree_print_their_borderline_changes_and_pass():
    first = Build([_row(0.05, 0.001), _row(0.02, 0.04, config_b="c")], {"claim 1": "supported"})
    second = Build([_row(0.06, 0.002), _row(0.01, 0.15, config_b="c")], {"claim 1": "supported"})
    outcome = agree(first, second)
    assert outcome.agree and len(outcome.lines()) == 1
    assert outcome.summary().endswith("1 borderline changes listed, 1 of 1 verdicts equal: the "
                                      "conclusions agree")
