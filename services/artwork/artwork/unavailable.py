"""The one failure every zone read may end in; apart, so that the worker's master need not load Redis."""


class NowPlayingUnavailable(Exception):
    """The now-playing state cannot be read right now; `detail` says why, without internals."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RedisUnreachable(NowPlayingUnavailable):
    """Redis did not answer at all: refused, reset or timed out (not an error it answered with)."""
