"""`python -m fakesonos`: run an emulated Sonos household."""

import sys

from fakesonos.cli import main

if __name__ == "__main__":
    sys.exit(main())
