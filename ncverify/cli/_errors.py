"""Exit statuses of the ``ncverify`` command and its usage error."""

from __future__ import annotations

from ..errors import NCVerifyError

__all__ = ["EXIT_FOUND", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "CommandError"]

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CommandError(NCVerifyError):
    """A usage or configuration error: printed without traceback, exit status ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code
