"""Wrong types raise TypeError, wrong values ValueError, failures wgvae.Error: each with the
command's one-line message."""

import numpy as np
import pytest

import wgvae


def test_wrong_dtypes_and_types_are_type_errors(grey, photo_grey):
    with pytest.raises(TypeError, match="uint8 or float32"):
        photo_grey.restore(grey.astype(np.float64))
    with pytest.raises(TypeError, match="numpy array"):
        photo_grey.restore(grey.tolist())
    with pytest.raises(TypeError, match="mask must be bool"):
        photo_grey.restore(grey, mask=np.zeros(grey.shape, np.float32))
    with pytest.raises(TypeError, match="float32"):
        photo_grey.encode(np.zeros((1, 1, 12, 12), np.float64))


def test_wrong_shapes_and_values_are_value_errors(grey, photo, photo_grey):
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        photo_grey.restore(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        wgvae.enhance(np.zeros(8, np.uint8), gamma=1.1)
    with pytest.raises(ValueError, match="the mask is 3x3 but the image is 40x48"):
        photo_grey.restore(grey, mask=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="noise_sigma"):
        photo_grey.restore(grey, noise_sigma=-0.1)
    with pytest.raises(ValueError, match="noise_sigma"):
        photo_grey.restore(grey, noise_sigma="loud")
    with pytest.raises(ValueError, match="method"):
        photo_grey.restore(grey, noise_sigma=0.1, method="magic")
    with pytest.raises(ValueError, match="at most one of --noise-sigma"):
        photo_grey.restore(grey, noise_sigma=0.1, poisson_peak=30.0)
    nan = grey.astype(np.float32) / 255
    nan[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"finite"):
        photo_grey.restore(nan, noise_sigma=0.1)
    with pytest.raises(ValueError, match="no adjustment given"):
        wgvae.enhance(photo)
    with pytest.raises(ValueError, match="--gamma must be a finite number > 0"):
        wgvae.enhance(photo, gamma=0.0)
    with pytest.raises(ValueError, match=r"shape \(N, 20\)"):
        wgvae.Model.load("digits").decode(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="n must be in 1..=4096"):
        wgvae.Model.load("digits").sample(0)


def test_missing_and_corrupt_models_are_wgvae_errors(tmp_path):
    with pytest.raises(wgvae.Error, match="nothing.safetensors"):
        wgvae.Model.load(tmp_path / "nothing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(wgvae.Error, match="bad.safetensors"):
        wgvae.Model.load(bad)
    with pytest.raises(wgvae.Error, match="upload.safetensors"):
        wgvae.Model.from_bytes(b"tiny", name="upload.safetensors")
    assert issubclass(wgvae.Error, Exception)


def test_unreadable_images_are_wgvae_errors(tmp_path):
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(wgvae.Error, match="x.png"):
        wgvae.read_image(tmp_path / "x.png")
    with pytest.raises(wgvae.Error, match="x.tiffany"):
        wgvae.write_image(tmp_path / "x.tiffany", np.zeros((4, 4), np.uint8))


def test_impossible_training_settings_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="--epochs must be at least 1"):
        wgvae.train(epochs=0, out=tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="arch"):
        wgvae.train(arch="transformer", out=tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="--augment applies to --patch"):
        wgvae.train(augment=True, out=tmp_path / "m.safetensors")
    existing = tmp_path / "there.safetensors"
    existing.write_bytes(b"")
    with pytest.raises(wgvae.Error, match="exists; pass force=True"):
        wgvae.train(epochs=1, out=existing)
    assert existing.read_bytes() == b"", "the existing file was touched"
    # as on the command line, any file of an earlier run counts, not only the checkpoint
    (tmp_path / "curve.loss.csv").write_text("epoch,loss\n")
    with pytest.raises(wgvae.Error, match="curve.loss.csv exists; pass force=True"):
        wgvae.train(epochs=1, out=tmp_path / "curve.safetensors")
    assert not (tmp_path / "curve.safetensors").exists()
