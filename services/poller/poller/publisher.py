"""Redis side of the poller: zone hash, events stream, changes channel and heartbeat."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import redis

from contract.redis_keys import EVENTS_MAXLEN, RedisKeys
from contract.zone import EventType, ZoneState
from poller.errors import PublishError


def connect(url: str) -> redis.Redis:
    """A client that fails fast, so the loop keeps watching while Redis is away."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=2,
        socket_connect_timeout=2,
        retry=None,  # the loop retries on its next tick, with only the latest state per zone
        client_name="sonos-poller",
    )


class RedisPublisher:
    """Writes each change in the contract's order: hash, then stream, then channel."""

    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys

    def publish(self, state: ZoneState, event_type: EventType) -> None:
        """One atomic MULTI/EXEC for the whole change."""
        fields = state.to_redis_hash()
        entry = {"type": event_type.value, "zone": state.zone_id, **fields}
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.sadd(self._keys.zones, state.zone_id)
            pipe.hset(self._keys.zone(state.zone_id), mapping=fields)  # type: ignore[arg-type]
            pipe.xadd(self._keys.events, entry, maxlen=EVENTS_MAXLEN, approximate=True)  # type: ignore[arg-type]
            pipe.publish(self._keys.changes, json.dumps(state.to_json_dict(), ensure_ascii=False))
            pipe.execute()
        except redis.RedisError as err:
            raise PublishError(f"Redis write failed: {err}") from err

    def publish_rooms(self, rooms: Mapping[str, str]) -> None:
        """Replace the room map (room id -> zone id) and tell subscribers, in one MULTI/EXEC."""
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.delete(self._keys.rooms)
            if rooms:
                pipe.hset(self._keys.rooms, mapping=dict(rooms))  # type: ignore[arg-type]
            pipe.publish(self._keys.changes, json.dumps({"rooms": dict(rooms)}, sort_keys=True))
            pipe.execute()
        except redis.RedisError as err:
            raise PublishError(f"Redis write failed: {err}") from err

    def remove(self, zone_id: str) -> None:
        """A zone is gone (regrouped or allow-listed away): drop its state and say so."""
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.srem(self._keys.zones, zone_id)
            pipe.delete(self._keys.zone(zone_id))
            pipe.xadd(
                self._keys.events,
                {"type": EventType.ZONE_REMOVED.value, "zone": zone_id},
                maxlen=EVENTS_MAXLEN,
                approximate=True,
            )
            pipe.publish(self._keys.changes, json.dumps({"id": zone_id, "removed": True}))
            pipe.execute()
        except redis.RedisError as err:
            raise PublishError(f"Redis write failed: {err}") from err

    def heartbeat(self, payload: dict[str, Any], ttl_seconds: int) -> bool:
        """Refresh the heartbeat; False when it had vanished (Redis restarted and lost everything)."""
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.exists(self._keys.poller)
            pipe.set(self._keys.poller, json.dumps(payload), ex=ttl_seconds)
            existed, _ = pipe.execute()
        except redis.RedisError as err:
            raise PublishError(f"Redis heartbeat failed: {err}") from err
        return bool(existed)
