"""Restoring a photo collection too large for one machine with Ray Data: the file paths become a
dataset, `map_batches` hands batches of them to a pool of actors that each hold one
`wgvae.Model` (one per GPU where the cluster has GPUs), and every actor reads its files, restores
them and writes each output under its input's name. Nothing but paths and names crosses the
cluster: workers read and write a shared folder (NFS, a mounted bucket) by themselves.

    import ray, wgvae.ray
    ray.init()                      # or ray.init(address="auto") on a cluster
    wgvae.ray.restore_folder("scans/", "restored/", model="photo-grey", noise_sigma="auto")

Each output equals `wgvae.Model.load(model).restore(wgvae.read_image(path), **settings)`
written with `wgvae.write_image`, which is what `wgvae restore` writes for that file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

import wgvae

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class Restorer:
    """A Ray Data actor: one model, loaded once, restoring every batch of paths it is given."""

    def __init__(self, model: str, output: str, settings: Dict[str, Any], adapter=None) -> None:
        self.model = wgvae.Model.load(model, adapter)
        self.output = Path(output)
        self.settings = settings

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        written = []
        for path in batch["path"]:
            path = Path(str(path))
            restored = self.model.restore(wgvae.read_image(path), **self.settings)
            target = self.output / path.name
            wgvae.write_image(target, restored)
            written.append(str(target))
        return {"path": batch["path"], "output": np.array(written)}


def image_paths(folder: os.PathLike) -> List[str]:
    """The PNG and JPEG files directly in `folder`, sorted by name (as `wgvae restore` takes a
    folder)."""
    return sorted(
        str(p)
        for p in Path(folder).iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def restore_folder(
    input: os.PathLike,
    output: os.PathLike,
    *,
    model: str = "photo-grey",
    actors: int = 2,
    gpus_per_actor: Optional[float] = None,
    batch_size: int = 8,
    adapter=None,
    **settings: Any,
) -> List[str]:
    """Restores every image of `input` into `output` (same names) on the Ray cluster that
    `ray.init` joined, with `actors` actors each holding one model. gpus_per_actor: the GPUs
    each actor reserves (default: 1 where the cluster has GPUs, else 0, and the actors run on
    the CPUs' software adapter). settings: Model.restore's keywords, the same for every image
    (noise_sigma, blur_sigma, method, ...; a mask belongs to one image, so none is taken).
    Returns the outputs written, in input order."""
    import ray

    paths = image_paths(input)
    if not paths:
        raise ValueError(f"{input}: no PNG or JPEG images")
    Path(output).mkdir(parents=True, exist_ok=True)
    if gpus_per_actor is None:
        gpus_per_actor = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    dataset = ray.data.from_items([{"path": p} for p in paths])
    restored = dataset.map_batches(
        Restorer,
        fn_constructor_kwargs={
            "model": model,
            "output": os.fspath(output),
            "settings": settings,
            "adapter": adapter,
        },
        batch_size=batch_size,
        concurrency=actors,
        num_gpus=gpus_per_actor,
        num_cpus=1,
    )
    by_input = {row["path"]: row["output"] for row in restored.iter_rows()}
    return [by_input[p] for p in paths]
