"""Read side of the now-playing state in Redis; Redis errors stop here."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from artwork.config import Settings
from artwork.unavailable import NowPlayingUnavailable, RedisUnreachable
from contract.redis_keys import RedisKeys
from contract.zone import ZONE_ID_RE, ZoneState

__all__ = [
    "NowPlayingUnavailable",
    "RedisUnreachable",
    "ZoneRepository",
    "ZoneSource",
    "ZoneView",
    "make_redis_client",
]

log = logging.getLogger(__name__)

# One quick retry covers a pooled connection that died with a Redis restart; more retries
# would only stretch the time a client waits for a 503.
_REDIS_RETRIES = 1
_RETRY_BACKOFF_CAP_SECONDS = 0.1
_RETRY_BACKOFF_BASE_SECONDS = 0.02


def make_redis_client(settings: Settings, *, retries: int = _REDIS_RETRIES, **options: Any) -> redis.Redis:
    """A client that fails fast; it connects lazily, so building it does no I/O."""
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        retry=Retry(
            ExponentialBackoff(cap=_RETRY_BACKOFF_CAP_SECONDS, base=_RETRY_BACKOFF_BASE_SECONDS),
            retries=retries,
        ),
        client_name="artwork",
        **options,
    )


class ZoneSource(Protocol):
    """Where the routes read zones from: Redis itself, or a worker's copy of it."""

    def get(self, zone_id: str) -> ZoneState | None:
        """One zone, or the group a room is in; None when neither is known."""

    def list(self) -> list[ZoneState]:
        """Every readable zone, sorted by id."""

    def ids(self) -> tuple[str, ...]:
        """Every valid zone id."""

    def rooms(self) -> Mapping[str, str]:
        """Room id -> the zone id of the group it is in."""

    def ping(self) -> bool:
        """Whether Redis answers right now."""

    def close(self) -> None:
        """Release connections (and stop anything running in the background)."""


@dataclass(frozen=True)
class ZoneView:
    """The zones at one moment: decoded states by id, the ids whose hash is malformed, and the rooms."""

    zones: Mapping[str, ZoneState]
    malformed: frozenset[str] = frozenset()
    rooms: Mapping[str, str] = field(default_factory=dict)  # room id -> zone id

    @classmethod
    def decode(
        cls, hashes: Mapping[str, Mapping[str, str]], rooms: Mapping[str, str] | None = None
    ) -> ZoneView:
        """Decode zone hashes by id; an empty hash is a zone that does not exist (any more)."""
        zones: dict[str, ZoneState] = {}
        malformed: set[str] = set()
        for zone_id, raw in hashes.items():
            if not raw:
                continue
            zone = decode_zone(zone_id, raw)
            if zone is None:
                malformed.add(zone_id)
            else:
                zones[zone_id] = zone
        valid_rooms = {r: z for r, z in (rooms or {}).items() if ZONE_ID_RE.match(r) and ZONE_ID_RE.match(z)}
        return cls(zones, frozenset(malformed), valid_rooms)

    def updated(self, fresh: ZoneView, zone_ids: Iterable[str]) -> ZoneView:
        """This view with the entries of `zone_ids` replaced by what `fresh` says of them, and its rooms."""
        replaced = set(zone_ids)
        zones = {k: v for k, v in self.zones.items() if k not in replaced}
        zones.update((k, v) for k, v in fresh.zones.items() if k in replaced)
        malformed = (self.malformed - replaced) | (fresh.malformed & replaced)
        return ZoneView(zones, malformed, fresh.rooms)

    def get(self, zone_id: str) -> ZoneState | None:
        """One zone, or the group a room is in; None when it is unknown; a malformed one cannot be read."""
        zone_id = self.rooms.get(zone_id, zone_id)
        if zone_id in self.malformed:
            raise NowPlayingUnavailable("zone state is malformed")
        return self.zones.get(zone_id)

    def list(self) -> list[ZoneState]:
        """Every readable zone, sorted by id."""
        return [self.zones[zone_id] for zone_id in sorted(self.zones)]

    def ids(self) -> tuple[str, ...]:
        """Every zone id with a hash, readable or not."""
        return tuple(sorted(self.zones.keys() | self.malformed))


class ZoneRepository:
    """Zones as the poller last wrote them, read from Redis on every call."""

    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        # The client must decode responses: every value below is read as str.
        self._client = client
        self._keys = keys

    def get(self, zone_id: str) -> ZoneState | None:
        """One zone, or the group a room is in; None when neither is known."""
        try:
            # Most ids name a zone (a room on its own, or a group's coordinator): one round trip.
            pipe = self._client.pipeline(transaction=False)
            pipe.hget(self._keys.rooms, zone_id)
            pipe.hgetall(self._keys.zone(zone_id))
            group, raw = cast(tuple[str | None, Mapping[str, str]], pipe.execute())
            if group is not None and group != zone_id and ZONE_ID_RE.match(group):
                zone_id = group
                raw = cast(Mapping[str, str], self._client.hgetall(self._keys.zone(group)))
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return ZoneView.decode({zone_id: raw}).get(zone_id)

    def list(self) -> list[ZoneState]:
        """Every readable zone, sorted by id; malformed entries are logged and left out."""
        return self.read().list()

    def read(self, zone_ids: Iterable[str] | None = None) -> ZoneView:
        """These zones (every zone in the zone set when None), in one round trip per step."""
        try:
            if zone_ids is None:
                members = cast(set[str], self._client.smembers(self._keys.zones))
                zone_ids = (z for z in members if ZONE_ID_RE.match(z))
            wanted = sorted(zone_ids)
            pipe = self._client.pipeline(transaction=False)
            pipe.hgetall(self._keys.rooms)
            for zone_id in wanted:
                pipe.hgetall(self._keys.zone(zone_id))
            rooms, *hashes = cast(list[Mapping[str, str]], pipe.execute())
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return ZoneView.decode(dict(zip(wanted, hashes, strict=True)), rooms)

    def ids(self) -> tuple[str, ...]:
        """Every valid zone id."""
        try:
            members = cast(set[str], self._client.smembers(self._keys.zones))
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return tuple(z for z in members if ZONE_ID_RE.match(z))

    def rooms(self) -> Mapping[str, str]:
        """Room id -> the zone id of the group it is in."""
        return self.read(()).rooms

    def empty(self) -> bool:
        """Whether Redis holds no zone and no heartbeat of the poller, as when it restarted (no disk)."""
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.exists(self._keys.poller)
            pipe.scard(self._keys.zones)
            heartbeat, zones = pipe.execute()
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return not heartbeat and not zones

    def ping(self) -> bool:
        """Whether Redis answers right now."""
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        """Release pooled connections."""
        self._client.close()


def decode_zone(zone_id: str, raw: Mapping[str, str]) -> ZoneState | None:
    """The zone in a Redis hash, or None (logged) when the hash does not follow the contract."""
    try:
        zone = ZoneState.from_redis_hash(zone_id, raw)
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        log.warning("zone %s: malformed state in redis: %s", zone_id, type(exc).__name__)
        return None
    images = zone.images
    if not isinstance(images, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in images.items()
    ):
        log.warning("zone %s: malformed images in redis", zone_id)
        return None
    return zone


def _unavailable(exc: redis.RedisError) -> NowPlayingUnavailable:
    reachable = not isinstance(exc, redis.ConnectionError | redis.TimeoutError)
    log.warning("now-playing state unavailable: %s: %s", type(exc).__name__, exc)
    return NowPlayingUnavailable("redis error") if reachable else RedisUnreachable("redis unreachable")
