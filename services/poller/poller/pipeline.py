"""From now-playing to renditions on disk: fetch once, decode once, render each profile once.

Safe to call from several zone workers at once: decodes share one pixel budget, and each call
reserves the names it is about to use before it looks for them, so a cache sweep running at the
same time never removes a rendition a zone is about to show.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

from contract.layout import ArtName, content_digest, rendition_name
from contract.profiles import Profile
from poller.accent import PLACEHOLDER_ACCENT, Accent, accent_of
from poller.art import ArtFetcher, absolute_art_url
from poller.decode import PixelBudget, decode_art, header_pixels
from poller.errors import ArtRejected
from poller.nowplaying import NowPlaying, placeholder_label
from poller.render import Caption, caption_key, largest_size, placeholder_art, render_all
from poller.store import ArtworkStore

log = logging.getLogger(__name__)

_URL_MEMORY = 256  # recent art URLs remembered, so the same art is not downloaded again

Reserve = Callable[[frozenset[str]], None]  # told the relpaths a call is about to use, before it looks


@dataclass(frozen=True)
class Renditions:
    """The images of one now-playing state: profile -> path under ARTWORK_DIR, the source's hash and
    the accent colours of the cover.
    """

    images: dict[str, str]
    art_hash: str
    art_failed: bool = False
    accent: Accent = PLACEHOLDER_ACCENT


def caption_of(playing: NowPlaying) -> Caption:
    """The lines a captioned layout draws: a radio song names its station where an album would be."""
    if not playing.title:
        return Caption(playing.station, playing.artist, playing.album)
    return Caption(playing.title, playing.artist, playing.album or playing.station)


class ArtPipeline:
    """Produces every profile's rendition for a now-playing state, or a placeholder."""

    def __init__(
        self,
        fetcher: ArtFetcher,
        store: ArtworkStore,
        profiles: Sequence[Profile],
        max_pixels: int,
        budget: PixelBudget | None = None,
    ) -> None:
        self._fetcher = fetcher
        self._store = store
        self._profiles = tuple(profiles)
        self._max_pixels = max_pixels
        self._budget = budget or PixelBudget(max_pixels)
        self._url_digests: OrderedDict[str, str] = OrderedDict()
        self._accents: OrderedDict[str, Accent] = OrderedDict()  # by source digest; guarded by _url_lock
        self._url_lock = threading.Lock()

    def renditions(
        self, playing: NowPlaying, speaker_base_url: str, reserve: Reserve = lambda _paths: None
    ) -> Renditions:
        """Renditions of the art, or of a placeholder when there is none or it is unusable."""
        caption = caption_of(playing)
        if playing.art_url:
            url = absolute_art_url(playing.art_url, speaker_base_url)
            try:
                return self._from_art(url, caption, reserve)
            except ArtRejected as err:
                log.warning("art rejected, showing a placeholder: %s", err)
                return self._placeholder(placeholder_label(playing), caption, reserve, art_failed=True)
        return self._placeholder(placeholder_label(playing), caption, reserve)

    def _from_art(self, url: str, caption: Caption, reserve: Reserve) -> Renditions:
        with self._url_lock:
            digest = self._url_digests.get(url)
        if digest is not None:
            reserve(self._relpaths(digest, caption))
            if self._all_stored(digest, caption):
                with self._url_lock:
                    self._remember(url, digest)
                return self._result(digest, caption, accent=self._stored_accent(digest, caption))
        data = self._fetcher.fetch(url)
        digest = content_digest(data)
        with self._url_lock:
            self._remember(url, digest)
        reserve(self._relpaths(digest, caption))
        missing = self._missing(digest, caption)
        if missing:
            # Bounded together: what every worker decodes at once never exceeds ART_MAX_PIXELS.
            with (
                self._budget.hold(header_pixels(data)),
                decode_art(data, self._max_pixels, largest_size(missing)) as base,
            ):
                accent = accent_of(base)  # from the pixels already decoded
                self._remember_accent(digest, accent)
                self._write(base, digest, missing, caption, accent)
        return self._result(digest, caption, accent=self._stored_accent(digest, caption))

    def _placeholder(
        self, label: str, caption: Caption, reserve: Reserve, *, art_failed: bool = False
    ) -> Renditions:
        source_id = f"placeholder:{label}"
        reserve(self._relpaths(source_id, caption))
        missing = self._missing(source_id, caption)
        if missing:
            with placeholder_art(label) as base:
                self._write(base, source_id, missing, caption, PLACEHOLDER_ACCENT)
        return self._result(source_id, caption, art_failed=art_failed)

    def _name(self, source_id: str, profile: Profile, caption: Caption) -> ArtName:
        return rendition_name(source_id, profile, caption_key(profile, caption))

    def _relpaths(self, source_id: str, caption: Caption) -> frozenset[str]:
        return frozenset(self._name(source_id, p, caption).relpath for p in self._profiles)

    def _missing(self, source_id: str, caption: Caption) -> list[Profile]:
        return [p for p in self._profiles if not self._store.contains(self._name(source_id, p, caption))]

    def _all_stored(self, source_id: str, caption: Caption) -> bool:
        return not self._missing(source_id, caption)

    def _write(
        self, base: Image.Image, source_id: str, profiles: list[Profile], caption: Caption, accent: Accent
    ) -> None:
        # One call, so profiles of the same size share one resize.
        renditions = render_all(base, profiles, caption, accent)
        for profile in profiles:
            self._store.put(self._name(source_id, profile, caption), renditions[profile.name])

    def _result(
        self,
        source_id: str,
        caption: Caption,
        *,
        art_failed: bool = False,
        accent: Accent = PLACEHOLDER_ACCENT,
    ) -> Renditions:
        names = [self._name(source_id, p, caption) for p in self._profiles]
        for name in names:
            self._store.touch(name)
        images = {p.name: name.relpath for p, name in zip(self._profiles, names, strict=True)}
        art_hash = "" if source_id.startswith("placeholder:") else source_id
        return Renditions(images, art_hash, art_failed, accent)

    def _remember_accent(self, digest: str, accent: Accent) -> None:
        with self._url_lock:
            self._accents[digest] = accent
            self._accents.move_to_end(digest)
            while len(self._accents) > _URL_MEMORY:
                self._accents.popitem(last=False)

    def _stored_accent(self, digest: str, caption: Caption) -> Accent:
        """The cover's accent: remembered from its decode, else (after a restart found its renditions
        on the volume) from its smallest stored rendition, a small decode once per cover.
        """
        with self._url_lock:
            accent = self._accents.get(digest)
        if accent is not None:
            return accent
        covers = [p for p in self._profiles if p.layout == "cover"] or list(self._profiles)
        smallest = min(covers, key=lambda p: p.width * p.height)
        try:
            data = self._store.path(self._name(digest, smallest, caption)).read_bytes()
            with decode_art(data, self._max_pixels, (smallest.width, smallest.height)) as image:
                accent = accent_of(image)
        except (OSError, ArtRejected) as err:
            log.warning("no accent colour for %s: %s", digest, err)
            return PLACEHOLDER_ACCENT
        self._remember_accent(digest, accent)
        return accent

    def _remember(self, url: str, digest: str) -> None:
        """Note url's digest as the most recently used (the caller holds `_url_lock`)."""
        self._url_digests[url] = digest
        self._url_digests.move_to_end(url)
        while len(self._url_digests) > _URL_MEMORY:
            self._url_digests.popitem(last=False)
