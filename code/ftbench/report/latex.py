"""Jinja for LaTeX: delimiters that do not clash with TeX, and every data string escaped.

Templates write `\\VAR{x}` and `\\BLOCK{for ...}`. Anything that reaches the page through
`\\VAR{}` is escaped unless it is a `Tex` value (a formatted number, a trusted fragment).
"""

from __future__ import annotations

import math
import re

import jinja2

_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _SPECIAL))


class Tex(str):
    """A string that is already valid LaTeX and must not be escaped again."""


def escape(text) -> Tex:
    if isinstance(text, Tex):
        return text
    return Tex(_SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], str(text)))


def _finalize(value):
    return value if isinstance(value, Tex) else escape(value)


def pct(x, digits: int = 1) -> Tex:
    """0.9312 -> 93.1 (percent, no sign); missing -> --."""
    x = float(x) if x not in ("", None) else math.nan
    return Tex("--" if math.isnan(x) else f"{100 * x:.{digits}f}")


def num(x, digits: int = 1) -> Tex:
    x = float(x) if x not in ("", None) else math.nan
    return Tex("--" if math.isnan(x) else f"{x:.{digits}f}")


def count(n) -> Tex:
    """1257317 -> 1{,}257{,}317 (thousands separators that survive math and text mode)."""
    return Tex(f"{int(float(n)):,}".replace(",", "{,}"))


def pvalue(p) -> Tex:
    """A p-value for a table: -- for the baseline itself, <0.001 below that."""
    if p is None or p == "":
        return Tex("--")
    p = float(p)
    return Tex("$<$0.001" if p < 0.001 else f"{p:.3f}")


def mean_std(values, fmt=pct) -> Tex:
    """One value as is; several as mean $\\pm$ std (sample std, ddof=1)."""
    vals = [float(v) for v in values]
    if len(vals) == 1:
        return fmt(vals[0])
    mean = sum(vals) / len(vals)
    std = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5
    return Tex(f"{fmt(mean)}$\\pm${fmt(std)}")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ftbench", "templates"),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix="%%", line_comment_prefix="%#",
        trim_blocks=True, lstrip_blocks=True, autoescape=False,
        undefined=jinja2.StrictUndefined, finalize=_finalize, keep_trailing_newline=True,
    )
    env.filters.update(tex=escape, pct=pct, num=num, count=count, mean_std=mean_std,
                       pvalue=pvalue)
    env.globals.update(pct=pct, num=num, count=count)
    return env


def macro_key(*parts) -> str:
    """A key for \\ftb{...}: letters, digits, '-', '.', '/' only."""
    key = "/".join(str(p) for p in parts)
    return re.sub(r"[^A-Za-z0-9./-]", "-", key)
