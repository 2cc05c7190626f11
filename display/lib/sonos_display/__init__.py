"""Sonos now-playing art on an Adafruit Qualia panel: the client's modules (CircuitPython and CPython)."""
