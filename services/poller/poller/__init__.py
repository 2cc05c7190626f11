"""The poller: watches every Sonos zone, renders its album art and publishes changes to Redis."""
