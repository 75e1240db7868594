"""Expression helpers of the theorem specs: parsing, lambdify, relations, dtype slack.

Every identifier in an expression is a measured symbol (plain sympy ``Symbol``,
positive), except the allowed functions in ``_FUNCTIONS``; ``machine_eps`` is
filled with the dtype's machine epsilon at evaluation. sympy is imported lazily.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

__all__ = ["DTYPE_EPS", "PROVENANCES", "Source", "default_rtol", "relative_margin"]

PROVENANCES = ("paper", "derived", "qualitative")

# machine epsilon by dtype name (torch.finfo(dtype).eps), without importing torch
DTYPE_EPS: dict[str, float] = {
    "float64": 2.220446049250313e-16,
    "float32": 1.1920928955078125e-07,
    "bfloat16": 0.0078125,
    "float16": 0.0009765625,
}

# function names allowed inside expressions (everything else is a measured symbol)
_FUNCTIONS = ("sqrt", "Abs", "Max", "Min", "log", "exp", "pi", "Rational")


def _eps(dtype: str) -> float:
    try:
        return DTYPE_EPS[str(dtype).removeprefix("torch.")]
    except KeyError:
        raise InvalidInput(
            f"dtype={dtype!r} is not a floating dtype ncverify knows; "
            f"use one of {', '.join(DTYPE_EPS)}"
        ) from None


def default_rtol(dtype: str = "float64") -> float:
    """Relative comparison slack for claims computed in ``dtype``: ``max(1e-9, 1e4*eps)``."""
    return max(1e-9, 1e4 * _eps(dtype))


class Source(str):
    """Where a theorem comes from; a ``str`` (its citation) with the parts as attributes.

    >>> s = Source(paper="JSWM", arxiv="2410.04887", theorem="Theorem 3.1")
    >>> str(s)
    'JSWM (arXiv 2410.04887), Theorem 3.1'
    """

    paper: str
    arxiv: str | None
    theorem: str | None

    def __new__(cls, paper: str, arxiv: str | None = None, theorem: str | None = None):
        if not paper:
            raise InvalidInput("Source needs a paper (e.g. 'JSWM, ICLR 2025')")
        text = paper + (f" (arXiv {arxiv})" if arxiv else "") + (f", {theorem}" if theorem else "")
        self = super().__new__(cls, text)
        self.paper, self.arxiv, self.theorem = paper, arxiv, theorem
        return self

    def __reduce__(self):
        return (Source, (self.paper, self.arxiv, self.theorem))


def _names(text: str, what: str) -> tuple[str, ...]:
    """Identifiers in an expression that are measured symbols (not allowed functions)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise InvalidInput(f"{what}: cannot parse {text!r} ({exc.msg})") from None
    called = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    bad = called - set(_FUNCTIONS)
    if bad:
        raise InvalidInput(
            f"{what}: {text!r} calls {', '.join(sorted(bad))}; allowed functions are "
            f"{', '.join(_FUNCTIONS)}"
        )
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(_FUNCTIONS)
    return tuple(sorted(names))


def _sympify(text: str, what: str, *, positive: bool = True):
    import sympy

    local = {
        name: sympy.Symbol(name, positive=positive) if positive else sympy.Symbol(name)
        for name in _names(text, what)
    }
    local.update({f: getattr(sympy, f) for f in _FUNCTIONS})
    try:
        return sympy.sympify(text, locals=local)
    except (sympy.SympifyError, TypeError, SyntaxError) as exc:
        raise InvalidInput(f"{what}: {text!r} is not a sympy expression ({exc})") from None


def _conjuncts(text: str, what: str) -> tuple[str, ...]:
    """``'a < b and c <= d'`` -> ``('a < b', 'c <= d')``; a single relation -> ``(text,)``."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return (text,)
    if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And):
        return tuple(ast.unparse(v) for v in tree.values)
    return (text,)


def _split_relation(text: str, what: str) -> tuple[str, str, str]:
    """``'a < b'`` -> ``('a', '<', 'b')``: exactly one of <, <=, >, >= at top level."""
    ops = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        tree = None
    if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1 and type(tree.ops[0]) in ops):
        raise InvalidInput(
            f"{what}: {text!r} is not a relation 'lhs OP rhs' with OP one of <, <=, >, >="
        )
    return ast.unparse(tree.left), ops[type(tree.ops[0])], ast.unparse(tree.comparators[0])


class _Compiled:
    """A lambdified expression: ``f(values) -> float or array``; built once."""

    def __init__(self, text: str, what: str):
        import sympy

        self.text = text
        self.expr = _sympify(text, what)
        self.names = tuple(sorted(str(s) for s in self.expr.free_symbols))
        syms = [sympy.Symbol(n, positive=True) for n in self.names]
        self._f = sympy.lambdify(syms, self.expr, modules="numpy")

    def __call__(self, values: Mapping[str, Any]):
        import numpy as np

        args = [np.asarray(values[n], dtype=float) for n in self.names]  # numpy: x/0 = inf
        with np.errstate(all="ignore"):
            try:
                return self._f(*args)
            except ZeroDivisionError:  # pragma: no cover - a constant sub-expression
                return np.nan

    def precise(self, values: Mapping[str, Any]):
        """The expression in mpmath at the current ``mpmath.mp.dps``, on scalar values (mpf,
        Fraction-free floats taken as exact); ``nan`` when undefined (division by zero...)."""
        import mpmath

        if not hasattr(self, "_mp"):
            import sympy

            syms = [sympy.Symbol(n, positive=True) for n in self.names]
            self._mp = sympy.lambdify(syms, self.expr, modules="mpmath")
        try:
            return mpmath.mpf(self._mp(*[mpmath.mpf(values[n]) for n in self.names]))
        except (ZeroDivisionError, ValueError, TypeError):
            return mpmath.mpf("nan")


@dataclass(frozen=True)
class _Relation:
    text: str
    lhs: str
    op: str
    rhs: str

    @classmethod
    def parse(cls, text: str, what: str) -> _Relation:
        lhs, op, rhs = _split_relation(text, what)
        _names(lhs, what), _names(rhs, what)
        return cls(text, lhs, op, rhs)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(set(_names(self.lhs, self.text)) | set(_names(self.rhs, self.text))))


def _compare(op: str, a, b, margin=0.0):
    """``a OP b`` with ``margin`` shrinking the admissible side (conservative)."""
    if op == "<":
        return a < b - margin
    if op == "<=":
        return a <= b - margin
    if op == ">":
        return a > b + margin
    return a >= b + margin


def relative_margin(op: str, a, b, tolerance: float = 0.0) -> float:
    """Signed relative margin of ``a OP b`` (smallest over entries): ``(b − tolerance − a)`` for
    ``<``/``<=``, ``(a − b − tolerance)`` for ``>``/``>=``, divided by ``max(|a|, |b|)``.

    Positive when the relation holds with room, 0 at the boundary, negative when it fails;
    the report shows its range over in-scope instances (how close the generators came to each
    hypothesis' boundary).
    """
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    room = (b - tolerance - a) if op in ("<", "<=") else (a - b - tolerance)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(all="ignore"):
        rel = np.where(scale > 0, room / np.where(scale > 0, scale, 1.0), 0.0)
    return float(np.min(rel)) if rel.size else float("nan")
