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
from contract.logs import LOG_LEVELS
from fakesonos.control import DEFAULT_CONTROL_ADDRESS, ControlServer
from fakesonos.household import Household
from fakesonos.load import DEFAULT_FIRST_IP, DEFAULT_LOAD_INTERVAL_SECONDS, LoadDriver, load_addresses
from fakesonos.model import SONOS_PORT, Bond
from fakesonos.scenario import Scenario, ScenarioPlayer, SpeakerSpec, apply_groups, load_scenario
from fakesonos.ssdp import SsdpResponder

__all__ = ["Config", "SpeakerSpec", "build_household", "main", "parse_config"]

logger = logging.getLogger("fakesonos")

DEFAULT_SCENARIO = "demo"
DEFAULT_HOUSEHOLD_ID = "Sonos_fakesonos0demo0household0"
MIN_DEMO_INTERVAL_SECONDS = 0.1
MIN_LOAD_INTERVAL_SECONDS = 0.01
MAX_LOAD_SPEAKERS = 2000
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}

DEFAULT_DEMO_INTERVAL_SECONDS = 8.0  # when a scenario names no interval


@dataclass(frozen=True)
class Config:
    """Everything the command line and environment decide."""

    speakers: tuple[SpeakerSpec, ...]
    control: tuple[str, int]
    demo: bool
    demo_interval_seconds: float
    household_id: str
    log_level: str = "INFO"
    scenario: Scenario | None = None  # groups, playlist and timeline (played when demo is on)
    load_speakers: int = 0  # 0: no load mode
    load_interval_seconds: float = DEFAULT_LOAD_INTERVAL_SECONDS
    ssdp: bool = False


def parse_speaker(value: str, source: str) -> SpeakerSpec:
    """Parse `ip[:port]=Room` or, for a bonded speaker, `ip[:port]=Room+sub` (any `Bond` value).

    The ip must be an IPv4 literal because soco requires one.
    """
    address, sep, room = value.partition("=")
    name, plus, bond_name = room.strip().rpartition("+")
    bond = Bond(bond_name) if plus and bond_name in set(Bond) else None
    room = name.strip() if bond is not None else room.strip()
    if not sep or not room:
        raise ConfigError(
            f"{source}: {value!r} must look like 127.0.0.2=Living Room or 127.0.0.2:1400=Kitchen"
        )
    host, _, port_text = address.strip().partition(":")
    try:
        ip = str(ipaddress.IPv4Address(host))
    except ValueError:
        raise ConfigError(f"{source}: {host!r} is not an IPv4 address (soco accepts only literals)") from None
    port = _port(port_text or str(SONOS_PORT), source, minimum=1)
    return SpeakerSpec(ip, port, room, bond)


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
        metavar="IP[:PORT]=ROOM[+BOND]",
        help="a speaker; +right, +sub, +surround-left or +surround-right bonds it to ROOM"
        " (repeat; env FAKESONOS_SPEAKERS)",
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
    parser.add_argument(
        "--scenario", metavar="NAME|PATH", help="built-in scenario or TOML file (env FAKESONOS_SCENARIO)"
    )
    parser.add_argument(
        "--load-speakers",
        metavar="M",
        help="load mode: M speakers from 127.0.0.2 (env FAKESONOS_LOAD_SPEAKERS)",
    )
    parser.add_argument(
        "--load-interval-seconds",
        metavar="T",
        help="load mode: each speaker changes track every T seconds (env FAKESONOS_LOAD_INTERVAL_SECONDS)",
    )
    parser.add_argument(
        "--load-first-ip",
        metavar="IP",
        help=f"load mode: first speaker's address (default {DEFAULT_FIRST_IP}; env FAKESONOS_LOAD_FIRST_IP)",
    )
    parser.add_argument(
        "--ssdp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="answer SSDP searches on UDP 1900 (env FAKESONOS_SSDP)",
    )
    return parser


def parse_config(argv: Sequence[str], environ: Mapping[str, str]) -> Config:
    """Flags win over environment variables, which win over defaults."""
    args = _argument_parser().parse_args(list(argv))
    env = Env(environ)
    scenario = load_scenario(args.scenario or env.text("FAKESONOS_SCENARIO", DEFAULT_SCENARIO).strip())
    load_speakers = _count(args.load_speakers, "--load-speakers", env, "FAKESONOS_LOAD_SPEAKERS")
    load_interval = _number(
        args.load_interval_seconds,
        "--load-interval-seconds",
        env,
        "FAKESONOS_LOAD_INTERVAL_SECONDS",
        default=DEFAULT_LOAD_INTERVAL_SECONDS,
        minimum=MIN_LOAD_INTERVAL_SECONDS,
    )
    if args.speaker:
        speakers = tuple(parse_speaker(value, "--speaker") for value in args.speaker)
    elif items := env.items("FAKESONOS_SPEAKERS"):
        speakers = tuple(parse_speaker(item, "FAKESONOS_SPEAKERS") for item in items)
    elif load_speakers:
        first_ip = args.load_first_ip or env.text("FAKESONOS_LOAD_FIRST_IP", DEFAULT_FIRST_IP)
        first = parse_speaker(f"{first_ip}=Load", "--load-first-ip")
        speakers = tuple(
            SpeakerSpec(ip, SONOS_PORT, f"Load {n:03d}")
            for n, ip in enumerate(load_addresses(load_speakers, first.ip), start=1)
        )
    else:
        speakers = scenario.speakers
    if not speakers:
        raise ConfigError(f"{scenario.name}: no speakers; give [[speakers]], --speaker or FAKESONOS_SPEAKERS")
    _check_unique(speakers)
    default_control = f"{DEFAULT_CONTROL_ADDRESS[0]}:{DEFAULT_CONTROL_ADDRESS[1]}"
    if args.control is not None:
        control = parse_control(args.control, "--control")
    else:
        control = parse_control(env.text("FAKESONOS_CONTROL", default_control), "FAKESONOS_CONTROL")
    demo = args.demo if args.demo is not None else env.flag("FAKESONOS_DEMO", True)
    interval = _number(
        args.demo_interval_seconds,
        "--demo-interval-seconds",
        env,
        "FAKESONOS_DEMO_INTERVAL_SECONDS",
        default=scenario.interval_seconds or DEFAULT_DEMO_INTERVAL_SECONDS,
        minimum=MIN_DEMO_INTERVAL_SECONDS,
    )
    default_id = scenario.household_id or DEFAULT_HOUSEHOLD_ID
    household_id = (args.household_id or env.text("FAKESONOS_HOUSEHOLD_ID", default_id)).strip()
    if not household_id or any(c.isspace() for c in household_id):
        raise ConfigError(
            f"household id {household_id!r} must be non-empty without spaces, like Sonos_abc123"
        )
    log_level = env.choice("LOG_LEVEL", "INFO", LOG_LEVELS)
    ssdp = args.ssdp if args.ssdp is not None else env.flag("FAKESONOS_SSDP", False)
    return Config(
        speakers,
        control,
        demo,
        interval,
        household_id,
        log_level,
        scenario=scenario,
        load_speakers=load_speakers,
        load_interval_seconds=load_interval,
        ssdp=ssdp,
    )


def _number(
    flag_value: str | None, flag: str, env: Env, variable: str, *, default: float, minimum: float
) -> float:
    if flag_value is not None:
        return Env({flag: flag_value}).number(flag, default, minimum=minimum)
    return env.number(variable, default, minimum=minimum)


def _count(flag_value: str | None, flag: str, env: Env, variable: str) -> int:
    source, text = (flag, flag_value) if flag_value is not None else (variable, env.text(variable, "0"))
    text = text.strip()
    if not text.isdigit() or int(text) > MAX_LOAD_SPEAKERS:
        raise ConfigError(f"{source}: {text!r} must be an integer 0..{MAX_LOAD_SPEAKERS}")
    return int(text)


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
            household.add_speaker(spec.ip, spec.room, port=spec.port, bond=spec.bond)
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
    driver: LoadDriver | ScenarioPlayer | None = None
    if config.load_speakers:
        driver = LoadDriver(household, config.load_interval_seconds)
    elif config.demo and config.scenario is not None:
        driver = ScenarioPlayer(household, config.scenario, config.demo_interval_seconds)
    ssdp = SsdpResponder(household) if config.ssdp else None
    try:
        household.start()
        if config.scenario is not None and not config.load_speakers:
            apply_groups(household, config.scenario)
        if driver is not None:
            driver.start()
        if ssdp is not None:
            ssdp.start()
        control.start()  # last, so a healthy control API means everything is up
        for speaker in household.speakers:
            logger.info(
                "speaker %r (%s) at %s uid %s", speaker.room, speaker.zone_id, speaker.base_url, speaker.uid
            )
        logger.info(
            "household %s, control API at %s, demo %s, scenario %s, load %d, ssdp %s",
            household.household_id,
            control.url,
            config.demo,
            config.scenario.name if config.scenario else "-",
            config.load_speakers,
            config.ssdp,
        )
        received = signal.sigwait(_STOP_SIGNALS)
        logger.info("%s received, stopping", signal.Signals(received).name)
    except OSError as exc:
        logger.error("%s", exc)  # one clear line; a traceback adds nothing
        return 1
    finally:
        if ssdp is not None:
            ssdp.stop()
        if driver is not None:
            driver.stop()
        control.stop()
        household.stop()
        # A second signal (e.g. sent to the whole process group) must not kill us once unblocked.
        for pending in signal.sigpending() & _STOP_SIGNALS:
            signal.sigwait({pending})
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    return 0
