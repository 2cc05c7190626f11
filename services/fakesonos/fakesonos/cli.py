"""Command line: parse flags and environment, run the household until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from contract.env import Env
from contract.errors import ConfigError
from fakesonos.control import DEFAULT_CONTROL_ADDRESS, ControlServer
from fakesonos.demo import DEFAULT_DEMO_INTERVAL_SECONDS, DemoPlayer
from fakesonos.household import Household
from fakesonos.model import SONOS_PORT

logger = logging.getLogger("fakesonos")

DEFAULT_SPEAKERS = "127.0.0.2=Living Room,127.0.0.3=Kitchen"
DEFAULT_HOUSEHOLD_ID = "Sonos_fakesonos0demo0household0"
MIN_DEMO_INTERVAL_SECONDS = 0.1
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@dataclass(frozen=True)
class SpeakerSpec:
    """One `ip[:port]=Room` from the command line or environment."""

    ip: str
    port: int
    room: str


@dataclass(frozen=True)
class Config:
    """Everything the command line and environment decide."""

    speakers: tuple[SpeakerSpec, ...]
    control: tuple[str, int]
    demo: bool
    demo_interval_seconds: float
    household_id: str
    log_level: str = "INFO"


def parse_speaker(value: str, source: str) -> SpeakerSpec:
    """Parse `ip[:port]=Room`; the ip must be an IPv4 literal because soco requires one."""
    address, sep, room = value.partition("=")
    room = room.strip()
    if not sep or not room:
        raise ConfigError(
            f"{source}: {value!r} must look like 127.0.0.2=Living Room or 127.0.0.2:1400=Kitchen"
        )
    host, _, port_text = address.strip().partition(":")
    try:
        ip = str(ipaddress.IPv4Address(host))
    except ValueError:
        raise ConfigError(f"{source}: {host!r} is not an IPv4 address (soco accepts only literals)") from None
    return SpeakerSpec(ip, _port(port_text or str(SONOS_PORT), source, minimum=1), room)


def parse_control(value: str, source: str) -> tuple[str, int]:
    """Parse `host:port` of the control API (port 0 picks a free one)."""
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not host:
        raise ConfigError(f"{source}: {value!r} must look like 127.0.0.1:5005")
    return host, _port(port_text, source, minimum=0)


def _port(text: str, source: str, *, minimum: int) -> int:
    if not text.isdigit() or not minimum <= int(text) <= 65535:
        raise ConfigError(f"{source}: port {text!r} must be an integer {minimum}..65535")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _argument_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fakesonos", description="An emulated Sonos household for soco.")
    parser.add_argument(
        "--speaker",
        action="append",
        metavar="IP[:PORT]=ROOM",
        help="a speaker (repeat; env FAKESONOS_SPEAKERS)",
    )
    parser.add_argument("--control", metavar="HOST:PORT", help="control API address (env FAKESONOS_CONTROL)")
    parser.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cycle demo tracks (env FAKESONOS_DEMO)",
    )
    parser.add_argument(
        "--demo-interval-seconds",
        metavar="SECONDS",
        help="seconds per demo track (env FAKESONOS_DEMO_INTERVAL_SECONDS)",
    )
    parser.add_argument("--household-id", metavar="ID", help="household id (env FAKESONOS_HOUSEHOLD_ID)")
    return parser


def parse_config(argv: Sequence[str], environ: Mapping[str, str]) -> Config:
    """Flags win over environment variables, which win over defaults."""
    args = _argument_parser().parse_args(list(argv))
    env = Env(environ)
    if args.speaker:
        speakers = tuple(parse_speaker(value, "--speaker") for value in args.speaker)
    else:
        items = env.items("FAKESONOS_SPEAKERS") or tuple(DEFAULT_SPEAKERS.split(","))
        speakers = tuple(parse_speaker(item, "FAKESONOS_SPEAKERS") for item in items)
    _check_unique(speakers)
    default_control = f"{DEFAULT_CONTROL_ADDRESS[0]}:{DEFAULT_CONTROL_ADDRESS[1]}"
    if args.control is not None:
        control = parse_control(args.control, "--control")
    else:
        control = parse_control(env.text("FAKESONOS_CONTROL", default_control), "FAKESONOS_CONTROL")
    demo = args.demo if args.demo is not None else env.flag("FAKESONOS_DEMO", True)
    if args.demo_interval_seconds is not None:
        interval = Env({"--demo-interval-seconds": args.demo_interval_seconds}).number(
            "--demo-interval-seconds", DEFAULT_DEMO_INTERVAL_SECONDS, minimum=MIN_DEMO_INTERVAL_SECONDS
        )
    else:
        interval = env.number(
            "FAKESONOS_DEMO_INTERVAL_SECONDS",
            DEFAULT_DEMO_INTERVAL_SECONDS,
            minimum=MIN_DEMO_INTERVAL_SECONDS,
        )
    household_id = (args.household_id or env.text("FAKESONOS_HOUSEHOLD_ID", DEFAULT_HOUSEHOLD_ID)).strip()
    if not household_id or any(c.isspace() for c in household_id):
        raise ConfigError(
            f"household id {household_id!r} must be non-empty without spaces, like Sonos_abc123"
        )
    log_level = env.choice("LOG_LEVEL", "INFO", LOG_LEVELS)
    return Config(speakers, control, demo, interval, household_id, log_level)


def _check_unique(speakers: Sequence[SpeakerSpec]) -> None:
    seen: set[tuple[str, int]] = set()
    for spec in speakers:
        if (spec.ip, spec.port) in seen:
            raise ConfigError(f"speakers: {spec.ip}:{spec.port} is given twice")
        seen.add((spec.ip, spec.port))


def build_household(config: Config) -> Household:
    """The household the configuration describes, not yet serving."""
    household = Household(config.household_id)
    for spec in config.speakers:
        try:
            household.add_speaker(spec.ip, spec.room, port=spec.port)
        except ValueError as exc:
            raise ConfigError(f"speakers: {exc}") from None
    return household


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run until SIGTERM or SIGINT; 0 on a clean stop, 1 when an address cannot be bound, 2 on bad config."""
    try:
        config = parse_config(
            sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ
        )
        household = build_household(config)
    except ConfigError as exc:
        print(f"fakesonos: error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Blocked before any thread starts, so every thread inherits the mask and only sigwait() sees them.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    control = ControlServer(household, config.control)
    demo = DemoPlayer(household, config.demo_interval_seconds) if config.demo else None
    try:
        household.start()
        if demo is not None:
            demo.start()
        control.start()  # last, so a healthy control API means everything is up
        for speaker in household.speakers:
            logger.info(
                "speaker %r (%s) at %s uid %s", speaker.room, speaker.zone_id, speaker.base_url, speaker.uid
            )
        logger.info(
            "household %s, control API at %s, demo %s", household.household_id, control.url, config.demo
        )
        received = signal.sigwait(_STOP_SIGNALS)
        logger.info("%s received, stopping", signal.Signals(received).name)
    except OSError as exc:
        logger.error("%s", exc)  # one clear line; a traceback adds nothing
        return 1
    finally:
        if demo is not None:
            demo.stop()
        control.stop()
        household.stop()
        # A second signal (e.g. sent to the whole process group) must not kill us once unblocked.
        for pending in signal.sigpending() & _STOP_SIGNALS:
            signal.sigwait({pending})
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    return 0
