"""Real collaborators for the tests: a redis-server, loopback addresses, waiting helpers."""
