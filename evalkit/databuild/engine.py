"""Where the per-row stage runs: in this process, or on a Dask cluster.

Dask (distributed) is the engine for corpora past one machine: it is pure Python, so the same
`prepare_chunk` runs unchanged on its workers, it starts a local cluster with one line for tests and
laptops, and it connects to an existing cluster (`engine.address=tcp://scheduler:8786`, or a
Kubernetes / SLURM / YARN cluster started with dask-kubernetes, dask-jobqueue, dask-yarn). Chunks
are submitted in input order with a bounded number in flight and their results consumed in that
order, so memory stays bounded and every decision that depends on order (the first occurrence of a
duplicate is kept) is the same on every engine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from evalkit.databuild.config import DataBuildConfig, Engine
from evalkit.databuild.prepare import Candidate, Prepared, prepare_chunk
from evalkit.errors import UserError


def prepared_chunks(
    chunks: Iterable[list[Candidate]], config: DataBuildConfig
) -> Iterator[list[Prepared]]:
    if config.engine.name == "local":
        for chunk in chunks:
            yield prepare_chunk(chunk, config)
        return
    yield from _on_dask(chunks, config, config.engine)


def _client(engine: Engine) -> tuple[Any, Any]:
    try:
        import distributed
    except ImportError:
        raise UserError("engine=dask needs: pip install -e '.[data]' (dask[distributed])") from None
    # distributed ships no type hints for these constructors
    client_of: Any = distributed.Client
    local_cluster: Any = distributed.LocalCluster
    if engine.address:
        try:
            return client_of(engine.address, timeout="30s"), None
        except OSError as exc:
            raise UserError(f"engine.address: cannot reach {engine.address} ({exc})") from None
    cluster = local_cluster(
        n_workers=engine.workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return client_of(cluster), cluster


def _on_dask(
    chunks: Iterable[list[Candidate]], config: DataBuildConfig, engine: Engine
) -> Iterator[list[Prepared]]:
    client, cluster = _client(engine)
    try:
        shared = client.scatter(config, broadcast=True)
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(client.submit(prepare_chunk, chunk, shared, pure=False))
            if len(pending) >= engine.in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
