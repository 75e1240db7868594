"""Options of the pytest plugin (``--ncverify-*``, ini keys, environment) and their checks.

Imports nothing heavy: the plugin is loaded by every pytest run in an environment where
ncverify is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..errors import InvalidInput
from ._backend import add_backend_options
from ._profiles import PROFILES

__all__ = ["ARCH_ENV", "Settings", "locate_arch", "validate_arch_spec"]

ARCH_ENV = "NCVERIFY_ARCH"
#: names ``ncverify.nets.load_architecture`` knows without an entry point (kept in sync with
#: ``ncverify.nets.available_architectures``, tested; not imported: that would import torch)
BUILTIN_ARCHITECTURES = ("pyramidal",)
ARCH_GROUP = "ncverify.architectures"

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_ARCH_RE = re.compile(rf"^{_IDENT}(\.{_IDENT})*:{_IDENT}(\.{_IDENT})*$")
_ARCH_NAME_RE = re.compile(r"^[A-Za-z_][\w\-]*$")


def validate_arch_spec(value: str) -> str:
    """Check that ``value`` names an architecture; return it unchanged.

    Accepted: ``pkg.module:factory``, or the name of an entry point in the group
    ``ncverify.architectures`` (a Python identifier, dots and dashes allowed).
    Only the syntax is checked here; importing and calling the factory is
    ``ncverify.nets.load_architecture``'s job. Raises :class:`InvalidInput`.
    """
    if not isinstance(value, str) or not (_ARCH_RE.match(value) or _ARCH_NAME_RE.match(value)):
        raise InvalidInput(
            f"architecture {value!r} is not of the form 'package.module:factory' "
            "(dotted Python module path, a colon, then the name of a callable in it, "
            "e.g. 'mynets.wide:build') nor the name of an entry point in the group "
            "'ncverify.architectures'"
        )
    return value


def locate_arch(value: str) -> str:
    """Check, without importing it, that an architecture can be found; return ``value``.

    ``module:factory``: the module (with the working directory as a fallback, like
    ``ncverify.nets.load_architecture``) must exist; a bare name must be a built-in or an
    installed entry point of the group ``ncverify.architectures``. Raises
    :class:`InvalidInput`: a typo fails at configuration time, not after the suite has run.
    """
    validate_arch_spec(value)
    if ":" in value:
        module = value.partition(":")[0]
        if _find_module(module):
            return value
        raise InvalidInput(
            f"architecture {value!r}: no module {module!r} on sys.path or in the working "
            f"directory {os.getcwd()}; install the package or run from the directory that "
            "contains it"
        )
    from importlib.metadata import entry_points

    known = sorted({*BUILTIN_ARCHITECTURES, *(ep.name for ep in entry_points(group=ARCH_GROUP))})
    if value in known:
        return value
    raise InvalidInput(
        f"unknown architecture {value!r}: not of the form 'package.module:factory' and no "
        f"entry point of that name in the group {ARCH_GROUP!r}; known names: {', '.join(known)}"
    )


def _find_module(module: str) -> bool:
    try:
        if importlib.util.find_spec(module) is not None:
            return True
    except (ImportError, ValueError):
        pass
    cwd = os.getcwd()
    if cwd in sys.path:
        return False
    sys.path.insert(0, cwd)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
    finally:
        sys.path.remove(cwd)


def _profile_name(value: str) -> str:
    if value not in PROFILES:
        raise InvalidInput(
            f"unknown ncverify profile {value!r}; choose one of {', '.join(sorted(PROFILES))}"
        )
    return value


def _seed(value: str) -> int:
    try:
        seed = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"seed {value!r} is not an integer") from None
    if seed < 0:
        raise InvalidInput(f"seed {seed} is negative; use an integer >= 0")
    return seed


def _argtype(check):
    """Wrap a validator so argparse reports its message as a usage error."""

    def convert(value: str):
        try:
            return check(value)
        except InvalidInput as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__.lstrip("_")
    return convert


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ncverify", "ncverify theorem checks")
    group.addoption(
        "--ncverify-profile",
        type=_argtype(_profile_name),
        default=None,
        metavar="NAME",
        help="sizes and example counts of the theorem suite: "
        f"{'|'.join(sorted(PROFILES))} (default: $NCVERIFY_PROFILE, ini "
        "ncverify_profile, else ci)",
    )
    group.addoption(
        "--ncverify-seed",
        type=_argtype(_seed),
        default=None,
        metavar="INT",
        help="base seed recorded in every evaluation (default: $NCVERIFY_SEED, ini "
        "ncverify_seed, else 20250124)",
    )
    group.addoption(
        "--ncverify-arch",
        type=_argtype(validate_arch_spec),
        default=None,
        metavar="MODULE:FACTORY",
        help="user architecture for tests marked ncverify_arch, e.g. mynets.wide:build",
    )
    group.addoption(
        "--ncverify-report",
        default=None,
        metavar="DIR",
        help="write report.json, report.md and report.html into DIR (created if missing); "
        "DIR is replaced only by a complete report, a partial one goes to DIR/incomplete/",
    )
    group.addoption("--ncverify-progress", default=None, metavar="FILE", help=argparse.SUPPRESS)
    add_backend_options(group, _argtype)
    # set by `ncverify`, which holds the report directory's lock and created this directory
    group.addoption("--ncverify-staging", default=None, metavar="DIR", help=argparse.SUPPRESS)
    parser.addini("ncverify_profile", "default ncverify profile (ci|thorough|gpu)", default="")
    parser.addini("ncverify_seed", "default ncverify base seed", default="")


@dataclass
class Settings:
    profile: str
    seed: int
    arch: str | None
    report_dir: Path | None
    progress: Path | None
    saved_env: dict[str, str | None]
    report_run: Any = None  # ncverify.report.ReportRun on the controller with a report dir
    saved_signals: dict[int, Any] | None = None


SETTINGS = pytest.StashKey[Settings]()


def _resolve(config: pytest.Config, option: str, env: str, ini: str, check) -> Any:
    value = config.getoption(option)
    if value is not None:
        return value
    for source, raw in ((f"${env}", os.environ.get(env)), (f"ini {ini}", config.getini(ini))):
        if raw not in (None, ""):
            try:
                return check(raw)
            except InvalidInput as exc:
                raise pytest.UsageError(f"ncverify: {source}: {exc}") from None
    return None
