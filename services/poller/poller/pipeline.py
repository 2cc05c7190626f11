"""From now-playing to renditions on disk: fetch once, decode once, render each profile once."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from contract.layout import ArtName, content_digest, rendition_name
from contract.profiles import Profile
from poller.art import ArtFetcher, absolute_art_url
from poller.errors import ArtRejected
from poller.nowplaying import NowPlaying, placeholder_label
from poller.render import Caption, caption_key, decode_art, largest_size, placeholder_art, render_all
from poller.store import ArtworkStore

log = logging.getLogger(__name__)

_URL_MEMORY = 256  # recent art URLs remembered, so the same art is not downloaded again


@dataclass(frozen=True)
class Renditions:
    """The images of one now-playing state: profile -> path under ARTWORK_DIR, and the source's hash."""

    images: dict[str, str]
    art_hash: str
    art_failed: bool = False


class ArtPipeline:
    """Produces every profile's rendition for a now-playing state, or a placeholder."""

    def __init__(
        self, fetcher: ArtFetcher, store: ArtworkStore, profiles: Sequence[Profile], max_pixels: int
    ) -> None:
        self._fetcher = fetcher
        self._store = store
        self._profiles = tuple(profiles)
        self._max_pixels = max_pixels
        self._url_digests: OrderedDict[str, str] = OrderedDict()

    def renditions(self, playing: NowPlaying, speaker_base_url: str) -> Renditions:
        """Renditions of the art, or of a placeholder when there is none or it is unusable."""
        caption = Caption(playing.title, playing.artist, playing.album)
        if playing.art_url:
            url = absolute_art_url(playing.art_url, speaker_base_url)
            try:
                return self._from_art(url, caption)
            except ArtRejected as err:
                log.warning("art rejected, showing a placeholder: %s", err)
                return self._placeholder(placeholder_label(playing), caption, art_failed=True)
        return self._placeholder(placeholder_label(playing), caption)

    def _from_art(self, url: str, caption: Caption) -> Renditions:
        digest = self._url_digests.get(url)
        if digest is not None and self._all_stored(digest, caption):
            self._url_digests.move_to_end(url)
            return self._result(digest, caption)
        data = self._fetcher.fetch(url)
        digest = content_digest(data)
        self._remember(url, digest)
        missing = self._missing(digest, caption)
        if missing:
            with decode_art(data, self._max_pixels, largest_size(missing)) as base:
                self._write(base, digest, missing, caption)
        return self._result(digest, caption)

    def _placeholder(self, label: str, caption: Caption, *, art_failed: bool = False) -> Renditions:
        source_id = f"placeholder:{label}"
        missing = self._missing(source_id, caption)
        if missing:
            with placeholder_art(label) as base:
                self._write(base, source_id, missing, caption)
        return self._result(source_id, caption, art_failed=art_failed)

    def _name(self, source_id: str, profile: Profile, caption: Caption) -> ArtName:
        return rendition_name(source_id, profile, caption_key(profile, caption))

    def _missing(self, source_id: str, caption: Caption) -> list[Profile]:
        return [p for p in self._profiles if not self._store.contains(self._name(source_id, p, caption))]

    def _all_stored(self, source_id: str, caption: Caption) -> bool:
        return not self._missing(source_id, caption)

    def _write(self, base: Image.Image, source_id: str, profiles: list[Profile], caption: Caption) -> None:
        # One call, so profiles of the same size share one resize.
        renditions = render_all(base, profiles, caption)
        for profile in profiles:
            self._store.put(self._name(source_id, profile, caption), renditions[profile.name])

    def _result(self, source_id: str, caption: Caption, *, art_failed: bool = False) -> Renditions:
        names = [self._name(source_id, p, caption) for p in self._profiles]
        for name in names:
            self._store.touch(name)
        images = {p.name: name.relpath for p, name in zip(self._profiles, names, strict=True)}
        art_hash = "" if source_id.startswith("placeholder:") else source_id
        return Renditions(images, art_hash, art_failed)

    def _remember(self, url: str, digest: str) -> None:
        self._url_digests[url] = digest
        self._url_digests.move_to_end(url)
        while len(self._url_digests) > _URL_MEMORY:
            self._url_digests.popitem(last=False)
