-- wrk script for tests/e2e/test_compose_demo.py: what displays and browsers fetch, in turn.
local paths = {
  "/zones/living-room/square720.bmp",
  "/api/zones/living-room",
  "/Adafruit/artwork.bmp",
  "/zones/kitchen/jpeg720.jpg",
  "/metadata.json",
  "/Adafruit/artwork_bar.bmp",
  "/",
  "/api/zones",
  "/status",
  "/metrics",
}
local n = 0

request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
