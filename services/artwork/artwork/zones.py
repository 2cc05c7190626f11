"""Read side of the now-playing state in Redis; Redis errors stop here."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from artwork.config import Settings
from contract.redis_keys import RedisKeys
from contract.zone import ZONE_ID_RE, ZoneState

log = logging.getLogger(__name__)

# One quick retry covers a pooled connection that died with a Redis restart; more retries
# would only stretch the time a client waits for a 503.
_REDIS_RETRIES = 1
_RETRY_BACKOFF_CAP_SECONDS = 0.1
_RETRY_BACKOFF_BASE_SECONDS = 0.02


class NowPlayingUnavailable(Exception):
    """The now-playing state cannot be read right now; `detail` says why, without internals."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def make_redis_client(settings: Settings) -> redis.Redis:
    """A client that fails fast; it connects lazily, so building it does no I/O."""
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        retry=Retry(
            ExponentialBackoff(cap=_RETRY_BACKOFF_CAP_SECONDS, base=_RETRY_BACKOFF_BASE_SECONDS),
            retries=_REDIS_RETRIES,
        ),
        client_name="artwork",
    )


class ZoneRepository:
    """Zones as the poller last wrote them."""

    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        # The client must decode responses: every value below is read as str.
        self._client = client
        self._keys = keys

    def get(self, zone_id: str) -> ZoneState | None:
        """One zone, or None when it is unknown."""
        try:
            raw = cast(Mapping[str, str], self._client.hgetall(self._keys.zone(zone_id)))
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        if not raw:
            return None
        zone = decode_zone(zone_id, raw)
        if zone is None:
            raise NowPlayingUnavailable("zone state is malformed")
        return zone

    def list(self) -> list[ZoneState]:
        """Every readable zone, sorted by id; malformed entries are logged and left out."""
        try:
            members = cast(set[str], self._client.smembers(self._keys.zones))
            zone_ids = sorted(z for z in members if ZONE_ID_RE.match(z))
            pipe = self._client.pipeline(transaction=False)
            for zone_id in zone_ids:
                pipe.hgetall(self._keys.zone(zone_id))
            hashes: list[Mapping[str, str]] = pipe.execute()
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        zones = []
        for zone_id, raw in zip(zone_ids, hashes, strict=True):
            zone = decode_zone(zone_id, raw) if raw else None
            if zone is not None:
                zones.append(zone)
        return zones

    def ids(self) -> tuple[str, ...]:
        """Every valid zone id."""
        try:
            members = cast(set[str], self._client.smembers(self._keys.zones))
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return tuple(z for z in members if ZONE_ID_RE.match(z))

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
    detail = "redis error" if reachable else "redis unreachable"
    log.warning("now-playing state unavailable: %s: %s", type(exc).__name__, exc)
    return NowPlayingUnavailable(detail)
