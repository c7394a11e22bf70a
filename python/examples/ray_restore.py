"""Restore a folder of photos on a Ray cluster, one wgvae model per actor (one per GPU where
there are GPUs), outputs written under the inputs' names.

    python examples/ray_restore.py scans/ restored/ --model photo-grey --noise-sigma auto

On one machine this starts a local Ray instance. On a cluster, start Ray on every node (`ray
start --head` on one, `ray start --address HEAD:6379` on the others, each with wgvae installed
and the folders on a shared file system) and pass --address auto, or submit this script with
`ray job submit -- python ray_restore.py ...`.
"""

import argparse

import ray

import wgvae.ray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="folder of PNG or JPEG photos")
    parser.add_argument("output", help="folder for the restored photos (same names)")
    parser.add_argument("--model", default="photo-grey", help="built-in name or .safetensors")
    parser.add_argument("--noise-sigma", default="auto", help="a level on [0, 1], or auto")
    parser.add_argument("--actors", type=int, default=2, help="models restoring at once")
    parser.add_argument("--gpus-per-actor", type=float, default=None)
    parser.add_argument("--address", default=None, help="a running cluster (auto), else local")
    args = parser.parse_args()
    noise = args.noise_sigma if args.noise_sigma == "auto" else float(args.noise_sigma)
    ray.init(address=args.address)
    written = wgvae.ray.restore_folder(
        args.input,
        args.output,
        model=args.model,
        actors=args.actors,
        gpus_per_actor=args.gpus_per_actor,
        noise_sigma=noise,
    )
    print(f"restored {len(written)} image(s) into {args.output}")


if __name__ == "__main__":
    main()
