"""The module against the command line: the same input and settings give the same bytes."""

import numpy as np
import pytest

import wgvae


def test_adapters_list_index_name_backend_type():
    found = wgvae.adapters()
    assert found, "no adapter"
    assert set(found[0]) == {"index", "name", "backend", "type"}
    assert [a["index"] for a in found] == list(range(len(found)))


def test_builtin_models_are_named():
    assert wgvae.builtin_models() == ["digits", "photo-grey", "photo-rgb"]


def test_read_and_write_round_trip(tmp_path, photo, grey):
    for img in (photo, grey):
        wgvae.write_image(tmp_path / "a.png", img)
        back = wgvae.read_image(tmp_path / "a.png")
        assert back.dtype == np.uint8 and np.array_equal(back, img)


def test_restore_of_noise_is_the_commands(tmp_path, cli, grey, photo_grey):
    noisy = wgvae.degrade(grey, noise_sigma=0.1, seed=3)
    wgvae.write_image(tmp_path / "noisy.png", noisy)
    cli("restore", "-i", tmp_path / "noisy.png", "-o", tmp_path / "out.png",
        "--model", "photo-grey", "--noise-sigma", "0.1")
    out = photo_grey.restore(noisy, noise_sigma=0.1)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert np.array_equal(out, wgvae.read_image(tmp_path / "out.png"))
    # and it restores: closer to the clean picture than the noisy one is
    err = lambda a: np.mean((a.astype(float) - grey) ** 2)  # noqa: E731
    assert err(out) < 0.6 * err(noisy)


def test_inpainting_in_colour_is_the_commands(tmp_path, cli, photo):
    crop = photo[8:56, 16:64]
    missing = np.zeros(crop.shape[:2], bool)
    missing[10:22, 14:30] = True
    wgvae.write_image(tmp_path / "in.png", crop)
    wgvae.write_image(tmp_path / "mask.png", missing.astype(np.uint8) * 255)
    cli("restore", "-i", tmp_path / "in.png", "-o", tmp_path / "out.png",
        "--model", "photo-rgb", "--mask", tmp_path / "mask.png")
    out = wgvae.Model.load("photo-rgb").restore(crop, mask=missing)
    assert out.shape == crop.shape
    assert np.array_equal(out, wgvae.read_image(tmp_path / "out.png"))
    assert np.array_equal(out[~missing], crop[~missing]), "known pixels changed"


def test_estimated_noise_and_auto_are_the_commands(tmp_path, cli, grey, photo_grey):
    noisy = wgvae.degrade(grey, noise_sigma=0.08, seed=5)
    wgvae.write_image(tmp_path / "noisy.png", noisy)
    cli("restore", "-i", tmp_path / "noisy.png", "-o", tmp_path / "out.png", "--model", "photo-grey")
    expected = wgvae.read_image(tmp_path / "out.png")
    assert np.array_equal(photo_grey.restore(noisy), expected)
    assert np.array_equal(photo_grey.restore(noisy, noise_sigma="auto"), expected)


def test_degrade_is_the_commands(tmp_path, cli, photo):
    wgvae.write_image(tmp_path / "in.png", photo)
    cli("degrade", "-i", tmp_path / "in.png", "-o", tmp_path / "out.png",
        "--noise-sigma", "0.1", "--blur-sigma", "1.2", "--seed", "7")
    out = wgvae.degrade(photo, noise_sigma=0.1, blur_sigma=1.2, seed=7)
    assert np.array_equal(out, wgvae.read_image(tmp_path / "out.png"))
    assert not np.array_equal(out, wgvae.degrade(photo, noise_sigma=0.1, blur_sigma=1.2, seed=8))
    lost, mask = wgvae.degrade(photo, missing=0.25, seed=1, return_mask=True)
    assert mask.dtype == bool and 0.15 < mask.mean() < 0.35


def test_enhance_is_the_commands(tmp_path, cli, photo):
    wgvae.write_image(tmp_path / "in.png", photo)
    cli("enhance", "-i", tmp_path / "in.png", "-o", tmp_path / "out.png",
        "--contrast", "1.2", "--gamma", "1.1", "--saturation", "1.3", "--auto-levels")
    out = wgvae.enhance(photo, contrast=1.2, gamma=1.1, saturation=1.3, auto_levels=True)
    assert np.array_equal(out, wgvae.read_image(tmp_path / "out.png"))


def test_samples_laid_out_are_the_commands_grid(tmp_path, cli, digits):
    cli("sample", "-n", "16", "--seed", "2", "-o", tmp_path / "grid.png")
    samples = digits.sample(16, seed=2)
    assert samples.shape == (16, 1, 28, 28) and samples.dtype == np.float32
    assert np.array_equal(wgvae.image_grid(samples), wgvae.read_image(tmp_path / "grid.png"))


def test_float32_gives_the_uint8_result_unrounded(grey, photo_grey):
    noisy = wgvae.degrade(grey, noise_sigma=0.1, seed=3)
    as_bytes = photo_grey.restore(noisy, noise_sigma=0.1)
    as_floats = photo_grey.restore(noisy.astype(np.float32) / 255, noise_sigma=0.1)
    assert as_floats.dtype == np.float32 and as_floats.shape == noisy.shape
    assert np.array_equal(np.round(np.clip(as_floats, 0, 1) * 255).astype(np.uint8), as_bytes)


def test_views_strides_and_shapes_are_kept(photo, grey):
    flipped = photo[::-1, ::2]  # a view with negative and doubled strides
    assert not flipped.flags.c_contiguous
    out = wgvae.enhance(flipped, brightness=1.1)
    assert np.array_equal(out, wgvae.enhance(np.ascontiguousarray(flipped), brightness=1.1))
    fortran = np.asfortranarray(grey)
    assert np.array_equal(wgvae.enhance(fortran, gamma=0.9), wgvae.enhance(grey, gamma=0.9))
    one = grey[:, :, None]
    out = wgvae.enhance(one, contrast=1.1)
    assert out.shape == one.shape and np.array_equal(out[:, :, 0], wgvae.enhance(grey, contrast=1.1))


def test_encode_decode_reconstruct_digits(digits):
    x = digits.sample(8, seed=4)
    mu, logvar = digits.encode(x)
    assert mu.shape == logvar.shape == (8, 20) and mu.dtype == np.float32
    back = digits.decode(mu)
    assert back.shape == x.shape
    # a prior sample is what the decoder makes, so its reconstruction is close to it
    assert np.mean((back - x) ** 2) < 0.02
    assert np.all(logvar < 0), "an encoded digit is surer than the prior"


def test_state_dict_is_the_checkpoints_tensors(digits):
    import json
    import struct

    from conftest import REPO

    raw = (REPO / "models" / "mnist-mlp.safetensors").read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    state = digits.state_dict()
    names = [k for k in header if k != "__metadata__"]
    assert sorted(names) == sorted(state)
    for name in names:
        t = header[name]
        begin, end = t["data_offsets"]
        stored = np.frombuffer(raw[8 + size + begin:8 + size + end], np.float32).reshape(t["shape"])
        assert np.array_equal(state[name], stored), name


def test_state_dict_loads_into_pytorchs_module_strictly(digits):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "tools"))
    import torch_models

    module = torch_models.build_model(digits.config)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in digits.state_dict().items()}, strict=True)
