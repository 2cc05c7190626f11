"""The poller's named failures; foreign exceptions are converted into these at the boundary."""


class PollerError(Exception):
    """Base of every failure the poller handles by itself."""


class SpeakerUnavailable(PollerError):
    """A speaker did not answer, or answered with an error."""


class ArtRejected(PollerError):
    """Album art could not be downloaded or decoded within the configured bounds."""


class StorageError(PollerError):
    """A rendition could not be written to the artwork volume (for example, the disk is full)."""


class PublishError(PollerError):
    """Redis could not be written."""


class FontsMissing(PollerError):
    """No font for titles is installed: text could only be drawn as boxes."""
