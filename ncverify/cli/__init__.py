"""The ``ncverify`` command (console script ``ncverify = ncverify.cli:main``).

Subcommands ``list``, ``report``, ``check`` (``_main``), ``reproduce`` (:mod:`.reproduce`) and
``sweep`` (:mod:`.sweep`).
Exit status: 0 no counterexample, 1 counterexample or failed test, 2 usage or configuration
error, 130 interrupted.
"""

from __future__ import annotations

from ._main import SUBCOMMANDS, CommandError, build_parser, main, run_suite

__all__ = ["SUBCOMMANDS", "CommandError", "build_parser", "main", "run_suite"]
