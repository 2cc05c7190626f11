"""A socket pool whose sockets send small writes at once (TCP_NODELAY), where the pool allows it.

adafruit_requests writes a request in several small pieces; with Nagle's algorithm on, every piece
after the first waits for the server's delayed acknowledgement, about 40 ms per request.
"""


class NoDelayPool:
    """Wraps a socket pool (CircuitPython's socketpool, or CPython's socket module)."""

    def __init__(self, pool):
        self._pool = pool
        self.AF_INET = pool.AF_INET
        self.SOCK_STREAM = pool.SOCK_STREAM
        self._nodelay = (getattr(pool, "IPPROTO_TCP", None), getattr(pool, "TCP_NODELAY", None))

    def getaddrinfo(self, *args, **kwargs):
        return self._pool.getaddrinfo(*args, **kwargs)

    def socket(self, *args, **kwargs):
        sock = self._pool.socket(*args, **kwargs)
        level, option = self._nodelay
        if level is not None and option is not None:
            try:
                sock.setsockopt(level, option, 1)
            except (OSError, AttributeError, NotImplementedError):
                pass  # firmware without the option: requests are just a little slower
        return sock

    def __getattr__(self, name):
        return getattr(self._pool, name)
