"""Run the Qualia display client on a desktop, and write every frame the panel would show as a PNG.

    .venv/bin/python display/simulate.py --server http://localhost:8000 --panel square720 --frames frames

The client's own modules (lib/) run unchanged on CPython with Adafruit's libraries (Blinka's
displayio, adafruit_requests, adafruit_imageload); only the hardware is replaced (sim/): the Wi-Fi
radio, the socket pool, the framebuffer, and the `jpegio` core module.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "lib"), os.path.join(HERE, "sim")]

from simulator import build  # noqa: E402
from sonos_display.settings import Settings  # noqa: E402


def main(argv=None):
    """Parse the command line and run the client until --seconds pass (or Ctrl-C)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the artwork service, e.g. http://localhost:8000")
    parser.add_argument("--panel", default="square720", help="square720, bar320x960, square480, round480")
    parser.add_argument("--zone", default="", help="a room or zone id (default: the server's default zone)")
    parser.add_argument("--frames", required=True, help="directory for the frames (000001.png, ...)")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (default: run on)")
    parser.add_argument("--poll-seconds", type=float, default=2, help="SONOS_POLL_SECONDS")
    parser.add_argument("--idle-dim-minutes", type=float, default=10, help="SONOS_IDLE_DIM_MINUTES")
    args = parser.parse_args(argv)
    os.makedirs(args.frames, exist_ok=True)
    settings = Settings(
        server=args.server.rstrip("/"),
        zone=args.zone,
        panel=args.panel,
        poll_seconds=args.poll_seconds,
        idle_dim_minutes=args.idle_dim_minutes,
    )
    client, _display = build(settings, args.frames)
    deadline = time.monotonic() + args.seconds if args.seconds else None
    try:
        client.run(time.sleep, stop=lambda: deadline is not None and time.monotonic() >= deadline)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
