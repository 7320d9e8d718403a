"""`evalkit data build` on synthetic short documents with planted near-duplicates of known identity.

N documents of 20-40 words from a 30,000-word vocabulary (Zipf-like, p ~ 1/(rank+50)); 10% of them
are near copies of a random original with one or two words replaced (word-3-shingle Jaccard between
about 0.6 and 0.9; the truth counts a copy as a near duplicate when its exact shingle Jaccard with
its original is at least the threshold, 0.8). Prints wall time, peak memory (this process and its
children), rows per second, and near-duplicate precision and recall against the planted truth.

`--repeat K` also races the near-duplicate stage against datasketch used directly on the same
texts, K times, the two alternating: the same shingles (`shingles`), `MinHash.bulk` per chunk and a
`MinHashLSH` with the same threshold, num_perm and weights, every candidate checked by the exact
Jaccard of Python sets of shingles, the earliest qualifying one kept (what a careful user would
write), against evalkit's code as the build runs it (`Sketcher` in the per-row stage, then
`NearDuplicates.add`). It prints each time, the ratio (evalkit / datasketch; median and max) and
asserts that the duplicate maps (row -> its representative) are identical.

    python benchmarks/data_build.py --n 1000000
    python benchmarks/data_build.py --n 1000000 --engine dask --workers 2
    python benchmarks/data_build.py --n 100000 --repeat 5 --skip-build
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evalkit.databuild.config import Dedup  # noqa: E402
from evalkit.databuild.dedup import LSH_WEIGHTS, NearDuplicates, Sketcher, shingles  # noqa: E402

CHUNK = 20_000  # the build's chunk_size below


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a, 3), shingles(b, 3)
    return len(x & y) / len(x | y)


def write_corpus(path: Path, n: int, seed: int) -> dict[str, tuple[str, float]]:
    """Write n rows; return the planted copies: copy id -> (original id, true Jaccard)."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    vocab = [f"t{i}" for i in range(30_000)]
    n_copies = n // 10
    lengths = np_rng.integers(20, 41, size=n - n_copies)
    weights = 1.0 / (np.arange(len(vocab)) + 50.0)  # Zipf-like, head flattened (no stop words)
    words = np_rng.choice(len(vocab), size=int(lengths.sum()), p=weights / weights.sum())
    originals, start = [], 0
    for length in lengths:
        originals.append([vocab[w] for w in words[start : start + length]])
        start += length
    truth: dict[str, tuple[str, float]] = {}
    with path.open("w", encoding="utf-8") as handle:
        for i, doc in enumerate(originals):
            handle.write(json.dumps({"id": f"d{i}", "text": " ".join(doc)}) + "\n")
        for k in range(n_copies):
            i = rng.randrange(len(originals))
            copy = list(originals[i])
            for _ in range(rng.choice((1, 1, 2))):
                copy[rng.randrange(len(copy))] = f"x{rng.randrange(10**6)}"
            text = " ".join(copy)
            truth[f"c{k}"] = (f"d{i}", jaccard(text, " ".join(originals[i])))
            handle.write(json.dumps({"id": f"c{k}", "text": text}) + "\n")
    return truth


def datasketch_direct(texts: list[str], options: Dedup) -> dict[int, int]:
    """Row -> the earliest kept row it near-duplicates, with datasketch alone."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(options.threshold, options.num_perm, weights=LSH_WEIGHTS)
    kept: dict[int, set[bytes]] = {}
    found: dict[int, int] = {}
    for start in range(0, len(texts), CHUNK):
        sets = [shingles(t, options.shingle) for t in texts[start : start + CHUNK]]
        minhashes = MinHash.bulk(sets, num_perm=options.num_perm)
        for key, (minhash, own) in enumerate(zip(minhashes, sets, strict=True), start):
            for candidate in sorted(lsh.query(minhash)):
                other = kept[candidate]
                if len(own & other) / len(own | other) >= options.threshold:
                    found[key] = candidate
                    break
            else:
                lsh.insert(key, minhash, check_duplication=False)
                kept[key] = own
    return found


def evalkit_near(texts: list[str], options: Dedup) -> dict[int, int]:
    """The same with evalkit's code, as `prepare_chunk` and `Builder.process_chunk` call it."""
    near = NearDuplicates(options)
    found: dict[int, int] = {}
    for start in range(0, len(texts), CHUNK):
        part = texts[start : start + CHUNK]
        signatures, ids = Sketcher(options.num_perm)([shingles(t, options.shingle) for t in part])
        keys = list(range(start, start + len(part)))
        for key, rep in zip(keys, near.add(keys, list(signatures), ids), strict=True):
            if rep is not None:
                found[key] = rep
    return found


def side_by_side(path: Path, threshold: float, repeat: int) -> None:
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    options = Dedup(threshold=threshold)
    times: dict[str, list[float]] = {"datasketch": [], "evalkit": []}
    results: dict[str, dict[int, int]] = {}
    for k in range(repeat):
        order = [("datasketch", datasketch_direct), ("evalkit", evalkit_near)]
        for name, run in order if k % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            results[name] = run(texts, options)
            times[name].append(time.perf_counter() - start)
        assert results["evalkit"] == results["datasketch"], "duplicate maps differ"
        print(f"  rep {k + 1}: datasketch {times['datasketch'][-1]:.2f} s, evalkit "
              f"{times['evalkit'][-1]:.2f} s", flush=True)  # fmt: skip
    ratios = [e / d for e, d in zip(times["evalkit"], times["datasketch"], strict=True)]
    print(f"near-duplicate stage, {len(texts):,} rows, {repeat} alternating repetitions: "
          f"evalkit / datasketch median {statistics.median(ratios):.2f}x, max {max(ratios):.2f}x "
          f"(median {statistics.median(times['evalkit']):.2f} s vs "
          f"{statistics.median(times['datasketch']):.2f} s); duplicate maps identical "
          f"({len(results['evalkit']):,} near duplicates)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["local", "dask"], default="local")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--repeat", type=int, default=0, help="races against datasketch direct")
    parser.add_argument("--skip-build", action="store_true", help="only the race (--repeat)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        truth = write_corpus(root / "raw.jsonl", args.n, seed=0)
        print(f"wrote {args.n:,} rows ({len(truth):,} planted copies) in "
              f"{time.perf_counter() - start:.1f} s", flush=True)  # fmt: skip
        if args.repeat:
            side_by_side(root / "raw.jsonl", args.threshold, args.repeat)
        if args.skip_build:
            return
        command = [
            sys.executable, "-m", "evalkit", "data", "build", "inputs=[raw.jsonl]",
            "output=out",
            "fields.id=id", "fields.input=text", "fields.references=null", "progress=false",
            f"dedup.threshold={args.threshold}", f"engine.name={args.engine}",
            f"engine.workers={args.workers}", f"chunk_size={CHUNK}",
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, cwd=root, check=True)
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        found: dict[str, str] = {}
        with (root / "out" / "removed.jsonl").open() as handle:
            for line in handle:
                row = json.loads(line)
                if row["reason"].startswith("near duplicate of "):
                    found[row["id"]] = row["reason"].removeprefix("near duplicate of ")
    should = {c for c, (_, sim) in truth.items() if sim >= args.threshold}
    correct = {c for c, origin in found.items() if c in truth and truth[c][0] == origin}
    hits = {c for c in found if c in truth}
    recall = len(should & hits) / max(1, len(should))
    precision = len(correct) / max(1, len(found))
    print(f"{args.n:,} rows, engine {args.engine}: {wall:.1f} s wall "
          f"({args.n / wall:,.0f} rows/s), peak RSS of the build {peak_mb:,.0f} MB")  # fmt: skip
    print(f"near duplicates at Jaccard >= {args.threshold}: found {len(found):,}, planted at or "
          f"above the threshold {len(should):,} (of {len(truth):,}); recall {recall:.4f}, "
          f"precision {precision:.4f} (a hit counts when it names its true original)")  # fmt: skip


if __name__ == "__main__":
    main()
