"""Exceptions shared by both services."""


class ConfigError(ValueError):
    """Configuration is invalid; the message is one line naming the key and what it accepts."""
