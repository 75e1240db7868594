"""``python -m ncverify.cli``: the same as the ``ncverify`` command."""

import sys

from ._main import main

sys.exit(main())
