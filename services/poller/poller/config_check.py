"""`python -m poller.config_check`: validate the poller settings and exit, before the service starts."""

from __future__ import annotations

import os
import sys

from contract.errors import check_config
from poller.config import Settings

if __name__ == "__main__":
    sys.exit(check_config("poller", Settings.from_env, os.environ))
