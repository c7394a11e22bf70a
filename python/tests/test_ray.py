"""The Ray recipe on a local cluster of this machine's CPUs: 50 noisy pictures restored by a
pool of actors, each output the single-process API's result."""

import os
import subprocess
import sys

import numpy as np
import pytest

import wgvae

if os.environ.get("CI") == "true":
    import ray  # CI installs it: a missing Ray is a failure there, never a skip
else:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'ray[data]')")


@pytest.fixture(scope="module")
def noisy_folder(tmp_path_factory, photo):
    """50 noisy 24x24 grey crops of the example photo."""
    folder = tmp_path_factory.mktemp("noisy")
    grey = photo.mean(axis=2).round().astype(np.uint8)
    for i in range(50):
        y, x = (i * 7) % 72, (i * 13) % 72
        noisy = wgvae.degrade(grey[y:y + 24, x:x + 24], noise_sigma=0.1, seed=i)
        wgvae.write_image(folder / f"photo_{i:02}.png", noisy)
    return folder


def test_fifty_pictures_restored_by_actors_equal_the_single_process_api(tmp_path, noisy_folder):
    import wgvae.ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        written = wgvae.ray.restore_folder(
            noisy_folder, tmp_path / "out", model="photo-grey", actors=2, noise_sigma=0.1
        )
    finally:
        ray.shutdown()
    inputs = wgvae.ray.image_paths(noisy_folder)
    assert len(inputs) == 50 and len(written) == 50
    model = wgvae.Model.load("photo-grey")
    for source, output in zip(inputs, written):
        assert os.path.basename(output) == os.path.basename(source)
        expected = model.restore(wgvae.read_image(source), noise_sigma=0.1)
        assert np.array_equal(wgvae.read_image(output), expected), output


def test_the_example_script_runs(tmp_path, noisy_folder):
    small = tmp_path / "few"
    small.mkdir()
    for name in sorted(os.listdir(noisy_folder))[:3]:
        (small / name).write_bytes((noisy_folder / name).read_bytes())
    script = os.path.join(os.path.dirname(__file__), "..", "examples", "ray_restore.py")
    done = subprocess.run(
        [sys.executable, script, str(small), str(tmp_path / "out"), "--noise-sigma", "0.1",
         "--actors", "1"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "restored 3 image(s)" in done.stdout
    assert sorted(os.listdir(tmp_path / "out")) == sorted(os.listdir(small))
