"""Image duplicates: exact (SHA-256 of the file) and near (perceptual hash, Hamming distance).

A resized or re-encoded copy changes every byte but barely its pHash (imagehash's DCT hash,
64 bits); copies within `hamming` bits of a kept image join its cluster. Files that cannot be
opened or decoded are reported with the reason, never silently kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ImageVerdict:
    duplicate_of: int | None = None
    kind: str | None = None  # "exact" | "near"
    distance: int | None = None


@dataclass
class ImageDuplicates:
    hamming: int
    exact: dict[str, int] = field(default_factory=dict)
    _keys: list[int] = field(default_factory=list)
    _hashes: np.ndarray = field(default_factory=lambda: np.zeros(64, dtype=np.uint64))

    def add(self, key: int, sha: str, digest: int) -> ImageVerdict:
        """`sha`: SHA-256 of the file; `digest`: its perceptual hash (see `perceptual_hash`)."""
        if sha in self.exact:
            return ImageVerdict(self.exact[sha], "exact", 0)
        n = len(self._keys)
        if n:
            distances = np.bitwise_count(self._hashes[:n] ^ np.uint64(digest))
            nearest = int(np.argmin(distances))
            if int(distances[nearest]) <= self.hamming:
                return ImageVerdict(self._keys[nearest], "near", int(distances[nearest]))
        self.exact[sha] = key
        if n == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.zeros(n, dtype=np.uint64)])
        self._hashes[n] = digest
        self._keys.append(key)
        return ImageVerdict()


def perceptual_hash(path: Path) -> int:
    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return int(str(imagehash.phash(image)), 16)
    except UnidentifiedImageError as exc:
        raise ValueError("not an image") from exc
