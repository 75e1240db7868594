"""A report directory that always holds one consistent complete report (docs/plugin.md).

One run on ``DIR`` is a :class:`ReportRun`:

* **lock** — ``flock`` on the sibling file ``.DIR.ncverify.lock``: a second run on the same
  directory is refused (:class:`ReportLocked`). The lock dies with the last process holding
  it (no stale lock after a crash); ``ncverify`` passes it to its pytest child.
* **staging** — everything the run writes (report, plots, ``pytest.log``, progress) goes to
  the sibling ``.DIR.ncverify-staging-<pid>``; ``DIR`` is not touched while the run lasts.
* **commit** (a complete run) — the entries of ``DIR`` that are not part of a report
  (``figures/``, nested report directories, your own files) are moved into the staging
  directory, which then replaces ``DIR`` in one atomic ``renameat2(RENAME_EXCHANGE)`` (Linux;
  elsewhere two renames, and a crash between them is repaired by the next run). A previous
  ``DIR/incomplete/`` is dropped: the new complete report supersedes it.
* **abandon** (an incomplete run: interrupted, crashed, stopped early) — the staging
  directory becomes ``DIR/incomplete/``, marked: ``report.json`` has ``"complete": false``
  with the reasons and ``INCOMPLETE.txt`` says so; the complete report in ``DIR`` is left
  byte for byte as it was.
* **checkpoint** — a long run also writes a partial report into its staging directory and
  swaps a copy into ``DIR/incomplete/`` every few minutes, so a process killed outright
  still leaves one.

Leftovers of a killed run (a staging directory nobody finalised) are moved to
``DIR/incomplete/`` by the next run on the same directory, before it starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import NCVerifyError

__all__ = [
    "INCOMPLETE_DIR",
    "MARKER",
    "REPORT_FILES",
    "ReportLocked",
    "ReportRun",
    "mark_incomplete",
    "replace_dir",
]

INCOMPLETE_DIR = "incomplete"
MARKER = "INCOMPLETE.txt"
#: what belongs to a report (everything else in DIR is carried over by a commit)
REPORT_FILES = ("report.json", "report.md", "report.html", "pytest.log", MARKER, ".progress")
_STAGING = ".ncverify-staging-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class ReportLocked(NCVerifyError):
    """Another run holds the lock of this report directory."""


def _is_report_entry(name: str) -> bool:
    return name in REPORT_FILES or (name.startswith("ratio-") and name.endswith(".png"))


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this filesystem cannot exchange
        return False
    raise OSError(err, f"renameat2({a}, {b}, RENAME_EXCHANGE): {os.strerror(err)}")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_dir(new: Path, target: Path) -> None:
    """Make ``new`` the directory ``target`` (atomically on Linux); the old one is deleted."""
    if target.exists():
        if not _exchange(new, target):
            old = target.with_name(f".{target.name}.ncverify-old-{os.getpid()}")
            os.rename(target, old)  # a crash here leaves `old`; the next run restores it
            os.rename(new, target)
            new = old
        shutil.rmtree(new, ignore_errors=True)
    else:
        os.rename(new, target)
    _fsync_dir(target.parent)


def mark_incomplete(directory: Path, reasons: Iterable[str]) -> None:
    """Mark the report in ``directory`` incomplete: ``INCOMPLETE.txt`` and, when
    ``report.json`` claims to be complete (a run killed during its final write) or lacks one
    of ``reasons`` (a checkpoint of a run killed later), set ``complete`` false, add the
    reasons and re-render report.md/html from it."""
    from ._build import atomic_write

    reasons = list(reasons)
    atomic_write(
        directory / MARKER,
        "This report is INCOMPLETE: "
        + ("; ".join(reasons) or "the run did not finish")
        + ".\nThe last complete report, if any, is in the parent directory, unchanged.\n",
    )
    path = directory / "report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    known = list(report.get("incomplete_reasons") or [])
    new = [r for r in reasons if r not in known]
    if report.get("complete") is False and not new:
        return
    report["complete"] = False
    report["incomplete_reasons"] = known + new
    from ._build import _json_text
    from ._render import render_html, render_markdown

    atomic_write(path, _json_text(report))
    with contextlib.suppress(Exception):  # the JSON is the record; renderings are a courtesy
        atomic_write(directory / "report.md", render_markdown(report, [], []))
        atomic_write(directory / "report.html", render_html(report, [], []))


class ReportRun:
    """One run's transaction on the report directory ``target`` (module docstring)."""

    def __init__(self, target: Path, staging: Path, lock_fd: int | None) -> None:
        self.target = target
        self.staging = staging
        self.lock_fd = lock_fd  # None: the caller (ncverify) holds the lock for us

    # -- starting ------------------------------------------------------------------
    @staticmethod
    def lock_path(target: str | os.PathLike) -> Path:
        target = Path(target).absolute()
        return target.with_name(f".{target.name}.ncverify.lock")

    @classmethod
    def begin(cls, target: str | os.PathLike, *, command: str = "") -> ReportRun:
        """Lock ``target``, repair what a killed run left, create the staging directory.

        Raises :class:`ReportLocked` when another run holds the lock and
        :class:`NCVerifyError` when ``target`` exists and is not a directory.
        """
        target = Path(os.path.abspath(target))
        if target.exists() and not target.is_dir():
            raise NCVerifyError(f"report directory {target} exists and is not a directory")
        if target.parent == target:
            raise NCVerifyError(f"cannot use the root directory {target} as a report directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = _lock(cls.lock_path(target), target, command)
        try:
            _recover(target)
            staging = target.with_name(f".{target.name}{_STAGING}{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
        except BaseException:
            os.close(fd)
            raise
        return cls(target, staging, fd)

    @classmethod
    def adopt(cls, target: str | os.PathLike, staging: str | os.PathLike) -> ReportRun:
        """The run prepared by a caller that holds the lock (``ncverify`` for its pytest)."""
        run = cls(Path(os.path.abspath(target)), Path(os.path.abspath(staging)), None)
        if not run.staging.is_dir():
            raise NCVerifyError(f"staging directory {run.staging} does not exist")
        return run

    # -- during the run --------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """Whether the staging directory was committed or abandoned (by anyone)."""
        return not self.staging.exists()

    def checkpoint(self, write: Callable[[Path], object], reasons: Iterable[str]) -> None:
        """Write a partial report (``write(directory)``) into the staging directory, marked,
        and swap a copy of it into ``target/incomplete/``: a run that dies outright has left
        it there, and its staging directory (finalised by ``ncverify`` or the next run)
        holds it too."""
        reasons = list(reasons)
        write(self.staging)
        mark_incomplete(self.staging, reasons)
        self.target.mkdir(parents=True, exist_ok=True)
        tmp = self.staging.with_name(self.staging.name + "-checkpoint")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            for entry in self.staging.iterdir():
                if entry.is_file() and entry.name != ".progress":
                    shutil.copy2(entry, tmp / entry.name)
            replace_dir(tmp, self.target / INCOMPLETE_DIR)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- finishing -------------------------------------------------------------------
    def commit(self) -> Path:
        """Make the staged (complete) report ``target``; returns ``target``."""
        (self.staging / ".progress").unlink(missing_ok=True)
        (self.staging / MARKER).unlink(missing_ok=True)  # left by a checkpoint
        if self.target.is_dir():
            for entry in self.target.iterdir():
                if _is_report_entry(entry.name) or entry.name == INCOMPLETE_DIR:
                    continue
                dest = self.staging / entry.name
                if not dest.exists():
                    os.rename(entry, dest)
        replace_dir(self.staging, self.target)
        return self.target

    def abandon(self, reasons: Iterable[str]) -> Path | None:
        """Move the staged (partial) report to ``target/incomplete/``, marked; returns it.

        A staging directory with nothing in it (the run wrote no report and no log) is just
        removed, so a previous ``target/incomplete/`` is not replaced by an empty one.
        """
        (self.staging / ".progress").unlink(missing_ok=True)
        if not any(self.staging.iterdir()):
            shutil.rmtree(self.staging, ignore_errors=True)
            return None
        mark_incomplete(self.staging, reasons)
        self.target.mkdir(parents=True, exist_ok=True)
        dest = self.target / INCOMPLETE_DIR
        replace_dir(self.staging, dest)
        return dest

    def release(self) -> None:
        """Give up the lock (when this process holds it) and remove checkpoint leftovers."""
        shutil.rmtree(self.staging.with_name(self.staging.name + "-checkpoint"), True)
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


def _lock(path: Path, target: Path, command: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            try:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            except OSError:
                holder = ""
            raise ReportLocked(
                f"another ncverify run is writing the report directory {target} "
                f"({holder or 'holder unknown'}; lock file {path}); wait for it to finish or "
                "write elsewhere"
            )
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        os.write(fd, f"pid {os.getpid()}, started {stamp}, {command}".strip(", ").encode())
        return fd
    except BaseException:
        os.close(fd)
        raise


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _recover(target: Path) -> None:
    """Repair what killed runs left next to ``target`` (the caller holds the lock)."""
    prefix = f".{target.name}"
    for entry in sorted(target.parent.glob(f"{prefix}.ncverify-old-*")):
        if not target.exists():
            os.rename(entry, target)  # killed between the two renames of replace_dir
        else:
            shutil.rmtree(entry, ignore_errors=True)
    for entry in sorted(target.parent.glob(f"{prefix}{_STAGING}*")):
        if not entry.is_dir():
            continue
        if entry.name.endswith("-checkpoint"):
            shutil.rmtree(entry, ignore_errors=True)
            continue
        for item in list(entry.iterdir()):  # entries a killed commit had carried over
            if not _is_report_entry(item.name) and not (target / item.name).exists():
                target.mkdir(parents=True, exist_ok=True)
                os.rename(item, target / item.name)
        if any(entry.iterdir()):
            run = ReportRun(target, entry, None)
            run.abandon(["the run was killed before it finished (found by the next run)"])
        else:
            shutil.rmtree(entry, ignore_errors=True)
