"""Exact and near-duplicate detection, streaming, keeping the first occurrence of each cluster.

Exact: a SHA-1 of the text lowercased with whitespace collapsed. Near: MinHash signatures of word
shingles (Broder 1997) banded for LSH (Leskovec et al., "Mining of Massive Datasets", ch. 3);
every LSH candidate is then checked against the threshold with the exact Jaccard similarity of the
two shingle sets (kept as sorted 32-bit shingle hashes, a few hundred bytes a row), so the banding
can favour recall and a MinHash estimate's noise never decides. Rows arrive in input order and only
cluster representatives enter the index, so the kept row of a cluster is always its first
occurrence: a stable rule, whatever the chunking.

The results are datasketch's, computed a chunk at a time: the signatures equal
`datasketch.MinHash.bulk(sets, num_perm=...)` value for value (its default "affine32" scheme:
SHA-1 of each shingle, MurmurHash3's 32-bit finalizer, then a*h + b mod 2^32 with datasketch's own
permutation parameters), and the bands are the (b, r) that `datasketch.MinHashLSH` chooses for the
same threshold, num_perm and weights, so the candidates are the ones its `query` returns. Doing it
for a whole chunk in a few array operations, instead of a MinHash object and an LSH call per row,
is what makes it faster than datasketch used row by row (benchmarks/data_build.py --repeat;
tests/databuild/test_dedup.py compares the two on a planted-duplicates corpus).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHash, MinHashLSH

from evalkit.databuild.config import Dedup

SUB_BATCH = 1024  # rows whose permuted hashes are materialised at once (~30 k shingles x num_perm)
# Recall-tuned banding (false negatives weigh 0.98): a pair at the threshold becomes a candidate
# with probability ~0.98 instead of ~0.4 with equal weights; the exact Jaccard check removes the
# extra false candidates.
LSH_WEIGHTS = (0.02, 0.98)


def exact_key(text: str) -> str:
    return hashlib.sha1(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def shingles(text: str, size: int) -> set[bytes]:
    """The distinct word `size`-grams of the lowercased text, UTF-8 encoded and space-joined; a
    text of `size` words or fewer is one shingle (the empty text: b"")."""
    words = text.lower().split()
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")}
    grams = zip(*(words[i:] for i in range(size)), strict=False)
    return set(map(str.encode, map(" ".join, grams)))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (Appleby, public domain), elementwise on uint32."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    mixed: np.ndarray = h ^ (h >> np.uint32(16))
    return mixed


class Sketcher:
    """MinHash signatures and shingle hashes for many shingle sets at once."""

    def __init__(self, num_perm: int) -> None:
        reference = MinHash(num_perm=num_perm)  # seed 1, datasketch's defaults
        if reference.scheme != "affine32":  # pragma: no cover - datasketch >= 2.0 default
            raise RuntimeError(f"datasketch's default MinHash scheme changed: {reference.scheme}")
        self.num_perm = num_perm
        self.a, self.b = (np.asarray(p, dtype=np.uint32) for p in reference.permutations)

    def __call__(self, shingle_sets: Sequence[set[bytes]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """(rows x num_perm uint32 signatures, per row its sorted unique 32-bit shingle hashes).

        Each signature equals `MinHash.bulk([set], num_perm=num_perm)[0].hashvalues`; the shingle
        hash is datasketch's `sha1_hash32` (the first 4 bytes of SHA-1, little-endian). Every set
        must be non-empty (`shingles` never returns an empty one).
        """
        signatures = np.empty((len(shingle_sets), self.num_perm), dtype=np.uint32)
        ids: list[np.ndarray] = []
        sha1 = hashlib.sha1
        for start in range(0, len(shingle_sets), SUB_BATCH):
            part = shingle_sets[start : start + SUB_BATCH]
            digests = b"".join([sha1(s).digest()[:4] for one in part for s in one])
            hashes = np.frombuffer(digests, dtype="<u4").astype(np.uint32)
            lengths = np.fromiter(map(len, part), dtype=np.intp, count=len(part))
            starts = np.zeros(len(part), dtype=np.intp)
            np.cumsum(lengths[:-1], out=starts[1:])
            # num_perm x shingles, so that the per-row minima run along contiguous memory
            permuted = np.multiply.outer(self.a, _fmix32(hashes))
            permuted += self.b[:, None]  # wraps mod 2^32, as datasketch's uint32 arithmetic
            signatures[start : start + len(part)] = np.minimum.reduceat(permuted, starts, axis=1).T
            row = np.repeat(np.arange(len(part), dtype=np.uint64), lengths)
            keyed = np.sort((row << np.uint64(32)) | hashes)  # by row, then hash
            keyed = keyed[np.r_[True, keyed[1:] != keyed[:-1]]]  # a rare 32-bit collision
            bounds = np.searchsorted(keyed >> np.uint64(32), np.arange(1, len(part)))
            ids.extend(np.split((keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32), bounds))
        return signatures, ids


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


@dataclass
class NearDuplicates:
    """The banded LSH index of cluster representatives, and the clusters found so far.

    Each band table maps the band's bytes to one representative or a list of them (most buckets
    hold one key, so the int saves a list per band and row).
    """

    options: Dedup
    shingle_sets: dict[int, np.ndarray] = field(default_factory=dict)  # rep -> shingle hashes
    clusters: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # rep -> members

    def __post_init__(self) -> None:
        lsh = MinHashLSH(
            threshold=self.options.threshold, num_perm=self.options.num_perm, weights=LSH_WEIGHTS
        )
        self.bands = [(i * lsh.r, (i + 1) * lsh.r) for i in range(lsh.b)]  # lsh.hashranges
        self.tables: list[dict[bytes, int | list[int]]] = [{} for _ in self.bands]

    def band_keys(self, signatures: np.ndarray) -> list[tuple[bytes, ...]]:
        """Per row, the bytes of each band of its signature (rows x num_perm uint32)."""
        columns = [
            np.ascontiguousarray(signatures[:, lo:hi]).view(f"V{4 * (hi - lo)}").ravel().tolist()
            for lo, hi in self.bands
        ]
        return list(zip(*columns, strict=True))

    def add(
        self,
        keys: Sequence[int],
        signatures: np.ndarray | Sequence[np.ndarray],
        ids: Sequence[np.ndarray],
    ) -> list[int | None]:
        """For each row (in order): the representative it near-duplicates, or None (kept).

        `signatures`: the rows of `Sketcher`'s signatures, `ids` its shingle hashes, both made
        by the workers.
        """
        if not keys:
            return []
        out: list[int | None] = []
        stacked = np.asarray(signatures, dtype=np.uint32).reshape(len(keys), -1)
        for key, bands, own in zip(keys, self.band_keys(stacked), ids, strict=True):
            match = self._match(bands, own)
            if match is None:
                self._insert(key, bands)
                self.shingle_sets[key] = own
                out.append(None)
            else:
                rep, similarity = match
                self.clusters.setdefault(rep, []).append((key, similarity))
                out.append(rep)
        return out

    def _insert(self, key: int, bands: tuple[bytes, ...]) -> None:
        for table, band in zip(self.tables, bands, strict=True):
            bucket = table.get(band)
            if bucket is None:
                table[band] = key
            elif isinstance(bucket, int):
                table[band] = [bucket, key]
            else:
                bucket.append(key)

    def _match(self, bands: tuple[bytes, ...], own: np.ndarray) -> tuple[int, float] | None:
        candidates: set[int] = set()
        for table, band in zip(self.tables, bands, strict=True):
            bucket = table.get(band)
            if bucket is None:
                continue
            if isinstance(bucket, int):
                candidates.add(bucket)
            else:
                candidates.update(bucket)
        for candidate in sorted(candidates):  # the earliest representative that qualifies
            similarity = exact_jaccard(self.shingle_sets[candidate], own)
            if similarity >= self.options.threshold:
                return candidate, similarity
        return None
