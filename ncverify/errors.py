"""The ncverify error hierarchy.

Every error says what was wrong, the values involved and what to do about it.

``NCVerifyError`` is the root; the leaves double as the matching builtin
exception (``InvalidInput`` is also a ``ValueError``) so callers that catch
builtins keep working.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "InvalidArchitecture",
    "InvalidInput",
    "MissingDependency",
    "NCVerifyError",
    "ProblemTooLarge",
    "SolverFailed",
    "TrainingDiverged",
]


class NCVerifyError(Exception):
    """Root of every error raised by ncverify."""


class InvalidInput(NCVerifyError, ValueError):
    """An argument violates a documented rule (shape, dtype, range, finiteness)."""


class ProblemTooLarge(InvalidInput):
    """A request whose size would exhaust memory or time; refused before allocating."""


class SolverFailed(NCVerifyError, RuntimeError):
    """A numerical solver (cvxpy, root isolation) did not return a usable optimum.

    Attributes ``solver`` and ``status`` name what failed.
    """

    def __init__(self, message: str, *, solver: str | None = None, status: str | None = None):
        super().__init__(message)
        self.solver = solver
        self.status = status


class TrainingDiverged(NCVerifyError, RuntimeError):
    """A training run produced a non-finite or exploding loss.

    ``step`` is the first step at which divergence was detected. Theorem checks
    turn this into an *inconclusive* verdict; it is never a pass.
    """

    def __init__(self, message: str, *, step: int | None = None):
        super().__init__(message)
        self.step = step


class MissingDependency(NCVerifyError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it
    (e.g. ``pip install 'ncverify[mnist]'``)."""


class InvalidArchitecture(NCVerifyError, TypeError):
    """A network does not satisfy the protocol a check needs (head, widths, biases, ...)."""


class BackendError(NCVerifyError, RuntimeError):
    """The execution backend (``ncverify.exec``) cannot be used: a cluster address that does
    not answer, or a run lost after every retry. The message names the address or the run."""
