"""The Ray engine (`photocap index --engine ray`): the built-in engine's job (photocap.indexing.worker) on a Ray
cluster.

The scan stays on the driver (this process, which holds the home's writer lock). The photos to caption become a
Ray Dataset of (catalog id, path) in blocks of one batch; Ray tasks decode them on the CPU nodes (reading them at
the same path, or from bytes read on the driver's node with `ship_bytes`); a pool of captioning actors, one per
GPU (else one per CPU node), captions them a batch at a time; the results stream back here, and only this
process writes them, a catalog transaction per batch and the search index every few seconds
(photocap.indexing.result_writer). A killed driver loses at most the batches not yet written, which stay pending for the
next run; a killed worker costs the retry of the batch it had (Ray restarts actors and retries tasks).

Ray is an optional dependency, imported only here and only when the engine runs (photocap.indexing.ray_tasks, the code
the workers run, does not import it)."""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import pickle
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from photocap.catalog.store import Catalog, PhotoResult
from photocap.config import Settings
from photocap.indexing.result_writer import ResultWriter
from photocap.search.index import SearchIndex

if TYPE_CHECKING:
    from photocap.model.captioner import Captioner

INSTALL_HINT = "pip install 'photocap[ray]'"
NODE_ID_LABEL = "ray.io/node-id"  # the label Ray gives every node
CONNECT_TIMEOUT_S = 10.0


class RayEngineError(Exception):
    """The Ray engine cannot run, or its run failed; the message says why, in one line."""


def ray_installed() -> bool:
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class ActorPlan:
    """The captioning actor pool: how many actors, and what each holds."""

    actors: int
    gpus_each: int  # 1 on GPU nodes, else 0
    device: str
    threads: int | None  # torch threads of an actor on a CPU node: its node's CPUs


def caption_photos_on_ray(catalog: Catalog, search_index: SearchIndex, captioner: Captioner,
                          work: Sequence[tuple[int, str]], settings: Settings,
                          on_batch: Callable[[int], None] = lambda n: None, *,
                          should_stop: Callable[[], bool] = lambda: False,
                          on_results: Callable[[list[PhotoResult]], None] | None = None) -> tuple[int, int]:
    """photocap.indexing.worker.caption_photos on Ray: returns (captioned, failed) counts. `captioner` is the
    driver's own, whose model every result must come from."""
    if should_stop() or not work:
        return 0, 0
    ray = connect(settings)
    from ray.exceptions import RayError

    plan = plan_actors(ray, settings)
    writer = ResultWriter(catalog, search_index, on_results)
    written: set[int] = set()
    try:
        for batch in results_dataset(ray, work, settings, plan).iter_batches(batch_size=None, batch_format="numpy"):
            results = [pickle.loads(result) for result in batch["result"]]
            # A task Ray retried after its output was delivered could deliver it again: write each photo once.
            results = [result for result in results if result.photo_id not in written]
            _check_model(results, captioner)
            writer.write(results)
            written.update(result.photo_id for result in results)
            on_batch(len(results))
            if should_stop():
                break
    except RayError as error:
        raise RayEngineError(f"the Ray run failed: {_gist(error)}") from None
    writer.sync(merge=True)
    return writer.captioned, writer.failed


def connect(settings: Settings) -> Any:
    """The `ray` module, connected to the cluster at `settings.ray_address`, or to a local Ray started for this
    process (on loopback only) when there is none. A process already connected stays as it is."""
    if not ray_installed():
        raise RayEngineError(f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}")
    if settings.ray_address is None and "ray" not in sys.modules:
        # Ray's own switch for Windows and macOS, where its nodes live on 127.0.0.1: a Ray only this process
        # uses has no reason to listen on the network.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    import ray.data

    if not ray.is_initialized():
        if settings.ray_address is not None:
            _check_reachable(settings.ray_address)
        try:
            if settings.ray_address is None:
                # Its notice that a new local Ray made itself a token says nothing to act on.
                logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
                ray.init(address="local", include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)
            else:
                ray.init(address=settings.ray_address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = settings.ray_address or "a local Ray"
            raise RayEngineError(f"cannot start or reach {where}: {_gist(error)}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # photocap's own bar counts the photos written
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no line per dataset started and finished
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # nor one saying bars are off
    return ray


def _check_reachable(address: str) -> None:
    """A cluster address (host:port, or ray://host:port) whose port does not answer is one line at once: Ray
    itself retries for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise RayEngineError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}") from None


def plan_actors(ray: Any, settings: Settings) -> ActorPlan:
    """One actor per GPU where the cluster has GPUs (and --device allows them), else one per CPU node."""
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if settings.device == "cuda" and not gpus:
        raise RayEngineError("--device cuda: the Ray cluster has no GPU")
    if gpus and settings.device != "cpu":
        return ActorPlan(actors=gpus, gpus_each=1, device="cuda", threads=None)
    cpus = [int(node["Resources"].get("CPU", 0)) for node in ray.nodes() if node.get("Alive")]
    cpus = [count for count in cpus if count >= 1]
    if not cpus:
        raise RayEngineError("the Ray cluster has no node with a CPU to caption on")
    return ActorPlan(actors=len(cpus), gpus_each=0, device="cpu", threads=min(cpus))


def results_dataset(ray: Any, work: Sequence[tuple[int, str]], settings: Settings, plan: ActorPlan) -> Any:
    """The lazy Ray Dataset of results: (photo_id, result: a pickled PhotoResult), a batch a block.

    Ray's defaults give what the engine needs: tasks whose worker died are retried (3 times), actors are
    restarted and their batch retried, and both are spread over the nodes, one actor a node."""
    from photocap.indexing import ray_tasks

    rows = [{"photo_id": photo_id, "path": os.fsencode(path)} for photo_id, path in work]  # bytes: any file name
    blocks = max(1, math.ceil(len(rows) / settings.batch_size))
    dataset = ray.data.from_items(rows, override_num_blocks=blocks)
    if settings.ship_bytes:
        driver_node = ray.get_runtime_context().get_node_id()
        if driver_node is None:
            raise RayEngineError("--ship-bytes reads the photos on the driver's Ray node; a Ray Client "
                                 "(ray://) driver has none: run photocap on a node of the cluster")
        # Reading is I/O: it holds no CPU, and two reads at a time keep the decoders fed.
        dataset = dataset.map_batches(ray_tasks.read_for_shipping, batch_size=None, batch_format="numpy",
                                      num_cpus=0, compute=ray.data.TaskPoolStrategy(size=min(2, blocks)),
                                      label_selector={NODE_ID_LABEL: driver_node})
    # Half a CPU a decoding task: two decode beside each CPU's work, and, its resources differing from the
    # actors', Ray Data keeps decoding in tasks of its own instead of fusing it into the captioning actors.
    dataset = dataset.map_batches(ray_tasks.decode, batch_size=None, batch_format="numpy", num_cpus=0.5,
                                  fn_kwargs={"detector_size": settings.detector_input})
    return dataset.map_batches(
        ray_tasks.Captioning, batch_size=settings.batch_size, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=plan.actors), num_cpus=1, num_gpus=plan.gpus_each,
        fn_constructor_kwargs={
            "model": settings.model, "device": plan.device, "precision": settings.precision,
            "detector_size": settings.detector_input,
            "encoder_weights": os.fspath(settings.encoder_weights) if settings.encoder_weights else None,
            "beam_size": settings.beam_size, "threads": plan.threads})


def _check_model(results: list[PhotoResult], captioner: Captioner) -> None:
    for result in results:
        if result.error is None and result.model_checksum != captioner.model_checksum:
            raise RayEngineError(
                f"a Ray worker captioned with model {result.model_id}, not {captioner.model_id} as this process "
                "would: install the same photocap (and --model file) on every node")


def _gist(error: BaseException) -> str:
    """The line that says what went wrong: the last, after any remote traceback."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
