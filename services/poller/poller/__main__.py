"""Entry point: `python -m poller`."""

from __future__ import annotations

import sys

from poller.app import main

if __name__ == "__main__":
    sys.exit(main())
