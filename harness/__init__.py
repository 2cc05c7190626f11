"""The real parts the tests and the benchmarks start and drive: redis-server, gunicorn, fakesonos,
the poller, compose stacks, loopback ports and waiting; no pytest in here.
"""
