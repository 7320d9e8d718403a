"""Near-duplicate detection equals datasketch used directly (the reference implementation): the
same MinHash signatures as `MinHash.bulk`, the same LSH candidates as `MinHashLSH.query`, and the
same duplicate map on a planted-duplicates corpus when every candidate is checked by its exact
Jaccard similarity."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("datasketch")

from datasketch import MinHash, MinHashLSH

from evalkit.databuild.config import Dedup
from evalkit.databuild.dedup import LSH_WEIGHTS, NearDuplicates, Sketcher, shingles


def planted_corpus(seed: int = 0) -> list[str]:
    """300 documents of 30-60 words, then 150 copies with 1-3 words replaced (shingle Jaccard from
    about 0.6 to 0.9, around the 0.8 threshold), short texts and empty ones, shuffled."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(400)]
    docs = [" ".join(rng.choices(vocab, k=rng.randint(30, 60))) for _ in range(300)]
    for _ in range(150):
        words = rng.choice(docs).split()
        for _ in range(rng.randint(1, 3)):
            words[rng.randrange(len(words))] = f"new{rng.randrange(10**6)}"
        docs.append(" ".join(words).upper() if rng.random() < 0.1 else " ".join(words))
    docs += ["", "one", "two words", "three words here", "Three  words\there", ""]
    rng.shuffle(docs)
    return docs


def datasketch_direct(texts: list[str], options: Dedup) -> dict[int, int]:
    lsh = MinHashLSH(options.threshold, options.num_perm, weights=LSH_WEIGHTS)
    kept: dict[int, set[bytes]] = {}
    found: dict[int, int] = {}
    sets = [shingles(t, options.shingle) for t in texts]
    minhashes = MinHash.bulk(sets, num_perm=options.num_perm)
    for key, (minhash, own) in enumerate(zip(minhashes, sets, strict=True)):
        for candidate in sorted(lsh.query(minhash)):
            other = kept[candidate]
            if len(own & other) / len(own | other) >= options.threshold:
                found[key] = candidate
                break
        else:
            lsh.insert(key, minhash)
            kept[key] = own
    return found


def evalkit_near(texts: list[str], options: Dedup, chunk: int) -> dict[int, int]:
    near, sketch = NearDuplicates(options), Sketcher(options.num_perm)
    found: dict[int, int] = {}
    for start in range(0, len(texts), chunk):
        part = texts[start : start + chunk]
        signatures, ids = sketch([shingles(t, options.shingle) for t in part])
        keys = list(range(start, start + len(part)))
        for key, rep in zip(keys, near.add(keys, list(signatures), ids), strict=True):
            if rep is not None:
                found[key] = rep
    return found


@pytest.mark.parametrize("num_perm", [128, 64])
def test_signatures_equal_minhash_bulk(num_perm):
    sets = [shingles(t, 3) for t in planted_corpus()]
    signatures, ids = Sketcher(num_perm)(sets)
    expected = np.array([m.hashvalues for m in MinHash.bulk(sets, num_perm=num_perm)])
    assert signatures.dtype == expected.dtype == np.uint32
    assert np.array_equal(signatures, expected)
    assert [len(i) for i in ids] == [len(s) for s in sets]  # no 32-bit collisions here
    assert all(np.all(np.diff(i.astype(np.int64)) > 0) for i in ids)  # sorted, unique


def test_band_keys_give_minhashlsh_candidates():
    options = Dedup()
    texts = planted_corpus(seed=1)
    sets = [shingles(t, options.shingle) for t in texts]
    minhashes = MinHash.bulk(sets, num_perm=options.num_perm)
    lsh = MinHashLSH(options.threshold, options.num_perm, weights=LSH_WEIGHTS)
    near = NearDuplicates(options)
    bands = near.band_keys(Sketcher(options.num_perm)(sets)[0])
    assert len(near.bands) == lsh.b and near.bands == lsh.hashranges
    for key, (minhash, own) in enumerate(zip(minhashes, bands, strict=True)):
        candidates = set()
        for table, band in zip(near.tables, own, strict=True):
            bucket = table.get(band, [])
            candidates.update([bucket] if isinstance(bucket, int) else bucket)
        assert candidates == set(lsh.query(minhash))
        lsh.insert(key, minhash)
        near._insert(key, own)


@pytest.mark.parametrize(("threshold", "chunk"), [(0.8, 64), (0.8, 1000), (0.6, 37)])
def test_duplicate_map_equals_datasketch_direct(threshold, chunk):
    options = Dedup(threshold=threshold)
    texts = planted_corpus()
    expected = datasketch_direct(texts, options)
    assert len(expected) > 40  # many planted copies are near duplicates at 0.8, more at 0.6
    assert evalkit_near(texts, options, chunk) == expected
