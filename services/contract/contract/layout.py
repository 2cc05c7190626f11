"""Layout of the shared artwork volume: content-addressed renditions and temp files."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from contract.profiles import PROFILE_NAME_PATTERN, Profile

ART_DIRNAME = "art"
TMP_DIRNAME = "tmp"
HASH_HEX_CHARS = 32  # 128 bits: collisions are not a concern for one household's album art

ART_NAME_RE = re.compile(
    rf"^(?P<hash>[0-9a-f]{{{HASH_HEX_CHARS}}})-(?P<profile>{PROFILE_NAME_PATTERN})\.(?P<ext>bmp|jpg|png)$"
)


@dataclass(frozen=True)
class ArtName:
    """A validated rendition file name, `<hash>-<profile>.<ext>`."""

    hash: str
    profile: str
    ext: str

    @property
    def filename(self) -> str:
        """The bare file name."""
        return f"{self.hash}-{self.profile}.{self.ext}"

    @property
    def relpath(self) -> str:
        """Path under `ARTWORK_DIR`, fanned out by the first two hex digits."""
        return str(PurePosixPath(ART_DIRNAME, self.hash[:2], self.filename))


def content_digest(data: bytes) -> str:
    """Hex digest identifying source bytes."""
    return hashlib.sha256(data).hexdigest()[:HASH_HEX_CHARS]


def rendition_name(source_id: str, profile: Profile, caption: str = "") -> ArtName:
    """Name of the rendition of a source for a profile; the caption matters for text layouts."""
    h = hashlib.sha256(f"{source_id}\0{profile.spec}\0{caption}".encode()).hexdigest()
    return ArtName(h[:HASH_HEX_CHARS], profile.name, profile.ext)


# Asked for every `/art/` fetch, and by parse_art_relpath; the answer depends on the string alone.
@functools.lru_cache(maxsize=1024)
def parse_art_name(filename: str) -> ArtName | None:
    """Validate a client-supplied rendition file name; None when it is not one."""
    match = ART_NAME_RE.match(filename)
    if match is None:
        return None
    return ArtName(match["hash"], match["profile"], match["ext"])


# The artwork service asks this for every image poll; the answer depends on the string alone.
@functools.lru_cache(maxsize=1024)
def parse_art_relpath(relpath: str) -> ArtName | None:
    """Validate a stored `art/<h2>/<name>` path; None when it is not exactly that shape."""
    parts = relpath.split("/")
    if len(parts) != 3 or parts[0] != ART_DIRNAME:
        return None
    name = parse_art_name(parts[2])
    if name is None or parts[1] != name.hash[:2]:
        return None
    return name
