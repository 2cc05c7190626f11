"""URL rules named in more than one place; they are also the metric labels of their routes. No Flask here."""

ZONE_IMAGE_ROUTE = "/zones/<zone_id>/<filename>"
ART_ROUTE = "/art/<filename>"
