"""Wiring: settings -> collaborators -> poll loop in a thread, with signals and a watchdog."""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from contract.cgroup import MEMORY_CGROUP_WARNING, memory_cgroup_enabled
from contract.errors import CONFIG_EXIT_CODE, ConfigError
from contract.logs import configure_logging
from contract.redis_keys import RedisKeys
from poller import sonos
from poller.allocator import tune_malloc
from poller.art import ArtFetcher
from poller.config import Settings
from poller.errors import FontsMissing, StorageError
from poller.events import Subscriptions, configure_listener
from poller.housekeeping import sweep
from poller.load import LoadMonitor
from poller.pipeline import ArtPipeline
from poller.publisher import RedisPublisher, connect
from poller.qualia import QualiaMirror
from poller.service import Poller
from poller.store import ArtworkStore
from poller.text import installed_fonts

log = logging.getLogger("poller")

_SHUTDOWN_GRACE_SECONDS = 1.5
# The poller renews every two poll intervals itself; this only bounds a subscription it abandoned.
_SUBSCRIPTION_TIMEOUT_SECONDS = 600


def watchdog_limit_seconds(settings: Settings) -> float:
    """How long the loop may go without a pass before the process is considered wedged."""
    if settings.watchdog_seconds:
        return settings.watchdog_seconds
    return max(60.0, 10 * settings.poll_interval_seconds + 2 * settings.art_timeout_seconds)


def write_pid(heartbeat_file: Path) -> None:
    """Start the heartbeat file with this process's pid, for the healthcheck to kill it if it freezes."""
    try:
        heartbeat_file.write_text(f"{os.getpid()}\n")
    except OSError as err:
        log.warning("cannot write heartbeat file %s: %s", heartbeat_file, err)


def find_zones(settings: Settings) -> list[sonos.Zone]:
    """Zones of the configured seed speakers, or of SSDP discovery when none are configured."""
    if settings.sonos_speakers:
        speakers = sonos.speakers_from_seeds(settings.sonos_speakers)
    else:
        speakers = sonos.discover_speakers(timeout_seconds=5, household=settings.sonos_household)
    return sonos.resolve_zones(speakers, settings.sonos_zones, settings.sonos_household)


def build_poller(settings: Settings, stop: threading.Event) -> tuple[Poller, Any]:
    """All collaborators, wired; returns the poller and the Redis client to close."""
    sonos.configure_soco(settings.speaker_timeout_seconds)
    installed_fonts()  # at start, not at the first title: a missing font is a broken install
    store = ArtworkStore(settings.artwork_dir)
    store.prepare()
    fetcher = ArtFetcher(settings.art_max_bytes, settings.art_timeout_seconds, stop)
    pipeline = ArtPipeline(fetcher, store, settings.profiles, settings.art_max_pixels)
    client = connect(settings.redis_url)
    publisher = RedisPublisher(client, RedisKeys(settings.redis_prefix))
    wakeups: queue.Queue[Any] = queue.Queue()
    subscriptions = None
    if settings.sonos_events:
        configure_listener(settings.event_listener_port, settings.event_advertise_ip)
        subscriptions = Subscriptions(wakeups, _SUBSCRIPTION_TIMEOUT_SECONDS)
    poller = Poller(
        find_zones=partial(find_zones, settings),
        read_snapshot=sonos.read_snapshot,
        pipeline=pipeline,
        publisher=publisher,
        stop=stop,
        poll_interval_seconds=settings.poll_interval_seconds,
        discovery_interval_seconds=settings.discovery_interval_seconds,
        heartbeat_file=settings.heartbeat_file,
        housekeeping=lambda keep: sweep(
            settings.artwork_dir,
            max_bytes=settings.cache_max_mb * 1024 * 1024,
            max_temp_age_seconds=settings.temp_max_age_seconds,
            keep=keep,
            now=time.time(),
        ),
        housekeeping_interval_seconds=min(60.0, settings.temp_max_age_seconds / 2),
        written_bytes=lambda: store.written_bytes,
        cache_max_bytes=settings.cache_max_mb * 1024 * 1024,
        load=LoadMonitor(settings.cpu_threshold_percent, settings.memory_threshold_percent),
        resource_check_interval_seconds=settings.resource_check_interval_seconds,
        subscriptions=subscriptions,
        wakeups=wakeups,
        qualia=QualiaMirror(Path(settings.qualia_mount), settings.artwork_dir)
        if settings.qualia_mount
        else None,
        default_zone=settings.default_zone,
        zone_workers=settings.zone_workers,
        regroup=lambda zones: sonos.resolve_zones(
            [zone.coordinator for zone in zones], settings.sonos_zones, settings.sonos_household, fresh=True
        ),
    )
    return poller, client


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run until SIGTERM/SIGINT; 0 on a clean stop, 1 on a wedged or crashed loop, 78 on bad config."""
    try:
        settings = Settings.from_env(os.environ if environ is None else environ)
    except ConfigError as err:
        print(f"poller: configuration error: {err}", file=sys.stderr)
        return CONFIG_EXIT_CODE
    configure_logging(settings.log_level, settings.log_format)
    tune_malloc(os.environ)  # before any thread starts; glibc itself read the real environment
    if not memory_cgroup_enabled():
        log.warning(MEMORY_CGROUP_WARNING)
    stop = threading.Event()

    try:
        poller, client = build_poller(settings, stop)
    except (StorageError, FontsMissing) as err:
        log.error("%s", err)
        return 1
    write_pid(settings.heartbeat_file)

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()
        poller.wake()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    # A test aid: SIGUSR1 wedges the loop on purpose, to show the watchdog gets the process restarted.
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: poller.simulate_stall())
    loop = threading.Thread(target=poller.run, name="poll-loop", daemon=True)
    log.info(
        "poller started: speakers=%s profiles=%s interval=%ss",
        ",".join(map(str, settings.sonos_speakers)) or "discovery",
        ",".join(p.name for p in settings.profiles), settings.poll_interval_seconds,
    )  # fmt: skip
    loop.start()
    limit_seconds = watchdog_limit_seconds(settings)
    while not stop.wait(1.0):
        if not loop.is_alive():
            log.critical("poll loop died; exiting so the container is restarted")
            return 1
        if poller.seconds_since_tick() > limit_seconds:
            # Docker does not restart an unhealthy container; exiting is what gets us restarted.
            log.critical(
                "poll loop stalled for %.0f s (no pass, or a zone job running that long); exiting",
                poller.seconds_since_tick(),
            )
            os._exit(1)
    loop.join(timeout=_SHUTDOWN_GRACE_SECONDS)
    # Never leave in the middle of writing a rendition or publishing a change.
    poller.drain(_SHUTDOWN_GRACE_SECONDS)
    poller.close()
    client.close()
    log.info("poller stopped")
    return 0
