"""`python -m artwork.config_check`: validate the artwork settings and exit, before the service starts."""

from __future__ import annotations

import os
import sys

from artwork.config import ServerSettings
from contract.errors import check_config

if __name__ == "__main__":
    sys.exit(check_config("artwork", ServerSettings.from_env, os.environ))
