"""The contract shared by the poller and the artwork service.

Redis key names, the zone payload, display profiles, the on-disk layout of the artwork volume
and environment parsing live here once, so the two services cannot drift apart.
"""
