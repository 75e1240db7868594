"""Per-run checkpoints: :class:`RunStore`, one file per finished run.

A result is written by the driver as soon as it arrives, to ``<directory>/<key>.pkl`` through a
temporary file and an atomic rename, so a driver killed at any moment leaves only whole
results behind. A store belongs to one version of ncverify: a record written by another
version, or whose configuration text differs from the one asked for (a key collision), is
ignored and the run is redone.

The files are pickles: load only stores you wrote yourself (pickle runs code on load).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ._keys import canonical, run_key

__all__ = ["RunStore"]

_FORMAT = 1


def _version() -> str:
    from .. import __version__

    return __version__


class RunStore:
    """Finished runs of a sweep, keyed by :func:`~ncverify.exec.run_key`.

    ``store.get(config)`` -> the stored result or ``None``; ``store.put(config, result)``
    writes it (atomically; writing the same run twice keeps one file); ``len(store)`` counts the
    files; ``store.keys()`` lists them.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        path = Path(directory)
        if path.exists() and not path.is_dir():
            raise InvalidInput(
                f"checkpoint directory {str(path)!r} exists and is not a directory; "
                "give a directory path"
            )
        path.mkdir(parents=True, exist_ok=True)
        self.directory = path

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.pkl"

    def get(self, config: Any) -> Any | None:
        path = self._path(run_key(config))
        try:
            with open(path, "rb") as f:
                record = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception:  # truncated, corrupt or from an incompatible version: redo the run
            return None
        if (
            not isinstance(record, dict)
            or record.get("format") != _FORMAT
            or record.get("version") != _version()
            or record.get("config") != canonical(config)
        ):
            return None
        return record["result"]

    def put(self, config: Any, result: Any) -> Path:
        key = run_key(config)
        record = {
            "format": _FORMAT,
            "version": _version(),
            "key": key,
            "config": canonical(config),
            "result": result,
        }
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(record, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self._path(key)

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.pkl"))

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"RunStore({str(self.directory)!r}, {len(self)} runs)"
