"""wgvae from Python: variational autoencoders trained and used in hand-written WGSL kernels on
any GPU (Vulkan, Metal, DX12 through wgpu), numpy in and numpy out.

    import numpy as np, wgvae
    m = wgvae.Model.load("photo-grey")            # built-in: digits, photo-grey, photo-rgb
    noisy = wgvae.degrade(photo, noise_sigma=0.1, seed=1)
    clean = m.restore(noisy, noise_sigma=0.1)      # same shape and dtype as noisy

Images are numpy arrays (H, W) or (H, W, 3) (also (H, W, 1)), uint8 or float32 in [0, 1];
every function returns the input's shape and dtype. A uint8 image gives the very bytes
`wgvae restore` (`degrade`, `enhance`) writes for the same file and settings on the same
adapter. The keyword arguments are the command's flags with underscores. Wrong types raise
TypeError, wrong values ValueError, GPU, file and model failures wgvae.Error, each with the
command's one-line message. GPU work runs with the GIL released.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _wgvae
from ._wgvae import Error

__all__ = [
    "Error",
    "Model",
    "adapters",
    "builtin_models",
    "degrade",
    "enhance",
    "image_grid",
    "read_image",
    "train",
    "write_image",
]

PathLike = Union[str, "os.PathLike[str]"]
Adapter = Union[str, int, None]
_BUILTIN, _DEFAULT_LEVELS = _wgvae.builtin_models()


def adapters() -> List[Dict[str, Any]]:
    """The GPU adapters as `wgvae info` lists them: dicts with index, name, backend, type."""
    return _wgvae.adapters()


def builtin_models() -> List[str]:
    """The names of the models built into wgvae (Model.load takes them)."""
    return list(_BUILTIN)


class _Image:
    """An image array checked and flattened for the native half, and the way back."""

    def __init__(self, img: Any, what: str = "img") -> None:
        if not isinstance(img, np.ndarray):
            raise TypeError(f"{what} must be a numpy array, not {type(img).__name__}")
        if img.dtype == np.uint8:
            self.float = False
        elif img.dtype == np.float32:
            self.float = True
        else:
            raise TypeError(f"{what} must be uint8 or float32 (in [0, 1]), not {img.dtype}")
        if img.ndim == 2:
            (self.height, self.width), self.channels = img.shape, 1
        elif img.ndim == 3 and img.shape[2] in (1, 3):
            self.height, self.width, self.channels = img.shape
        else:
            raise ValueError(f"{what} must have the shape (H, W) or (H, W, 3), not {img.shape}")
        self.shape, self.dtype = img.shape, img.dtype
        # views, strides and Fortran order all become one C-ordered copy here
        self.bytes = np.ascontiguousarray(img).tobytes()

    @property
    def args(self) -> Tuple[bytes, int, int, int, bool]:
        return self.bytes, self.height, self.width, self.channels, self.float

    def like(self, data: bytes) -> np.ndarray:
        """The native half's bytes as an array of the input's shape and dtype."""
        return np.frombuffer(data, dtype=self.dtype).reshape(self.shape).copy()

    def mask(self, mask: Any) -> Optional[bytes]:
        """A (H, W) mask (True = missing) as one byte per pixel."""
        if mask is None:
            return None
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"mask must be a numpy array, not {type(mask).__name__}")
        if not (mask.dtype == np.bool_ or np.issubdtype(mask.dtype, np.integer)):
            raise TypeError(f"mask must be bool (True = missing), not {mask.dtype}")
        if mask.shape != (self.height, self.width):
            shape = "x".join(str(s) for s in mask.shape)
            raise ValueError(
                f"the mask is {shape} but the image is {self.height}x{self.width}"
            )
        return np.ascontiguousarray(mask != 0, dtype=np.uint8).tobytes()


def _adapter(adapter: Adapter) -> Optional[str]:
    return None if adapter is None else str(adapter)


def _floats(x: Any, what: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, not {type(x).__name__}")
    if x.dtype != np.float32:
        raise TypeError(f"{what} must be float32, not {x.dtype}")
    return np.ascontiguousarray(x)


class Model:
    """A trained VAE on a GPU: restore images with it as a prior, encode, decode, sample.

    Load one with Model.load (a built-in name or a .safetensors checkpoint) or
    Model.from_bytes; `wgvae.train` returns one too.
    """

    def __init__(self, native: "_wgvae.Model") -> None:
        self._native = native
        self.channels, self.height, self.width, self.latent = native.dims

    @classmethod
    def load(cls, source: PathLike, adapter: Adapter = None) -> "Model":
        """A built-in model ("digits", "photo-grey", "photo-rgb") or a checkpoint file written
        by `wgvae train`, on the adapter `adapter` names (an index or part of a name, as
        `wgvae.adapters()` lists them) or the preferred one."""
        return cls(_wgvae.Model.load(os.fspath(source), _adapter(adapter)))

    @classmethod
    def from_bytes(
        cls, data: bytes, name: str = "model.safetensors", adapter: Adapter = None
    ) -> "Model":
        """A checkpoint's bytes; `name` is what error messages call it."""
        return cls(_wgvae.Model.from_bytes(bytes(data), name, _adapter(adapter)))

    @property
    def name(self) -> str:
        """Where the model came from: its path, or "built-in models/<file>"."""
        return self._native.name

    @property
    def adapter(self) -> str:
        """The adapter the model runs on, as `wgvae info` lists it."""
        return self._native.adapter

    @property
    def config(self) -> Dict[str, Any]:
        """The model's configuration as its checkpoint stores it (arch, sizes, latent, ...)."""
        import json

        return json.loads(self._native.config_json)

    def __repr__(self) -> str:
        return repr(self._native)

    def restore(
        self,
        img: np.ndarray,
        *,
        noise_sigma: Union[float, str, None] = None,
        mask: Optional[np.ndarray] = None,
        blur_sigma: Optional[float] = None,
        blur_size: int = 0,
        poisson_peak: Optional[float] = None,
        salt_pepper: Optional[float] = None,
        mask_rect: Optional[Tuple[int, int, int, int]] = None,
        box_blur: Optional[int] = None,
        motion_blur: Optional[Tuple[int, float]] = None,
        method: str = "posterior",
        steps: Optional[int] = None,
        window_step: Optional[int] = None,
        samples: int = 1,
        batch: int = 1024,
    ) -> np.ndarray:
        """`img` restored from the damage named, as `wgvae restore` restores a file.

        noise_sigma: Gaussian noise's standard deviation on [0, 1], or "auto" to estimate it;
        mask: bool (H, W), True where pixels are missing; blur_sigma (with blur_size): a
        Gaussian blur; poisson_peak, salt_pepper, mask_rect (x, y, w, h), box_blur,
        motion_blur (length, angle): the command's other damage. Nothing named means noise of
        an estimated level, as the command assumes. method: posterior, map, impute or
        project. Returns an array of img's shape and dtype.
        """
        image = _Image(img)
        out = self._native.restore(
            *image.args,
            noise_sigma=noise_sigma,
            poisson_peak=poisson_peak,
            salt_pepper=salt_pepper,
            mask=image.mask(mask),
            mask_rect=mask_rect,
            blur_sigma=blur_sigma,
            blur_size=blur_size,
            box_blur=box_blur,
            motion_blur=motion_blur,
            method=method,
            steps=steps,
            window_step=window_step,
            samples=samples,
            batch=batch,
        )
        return image.like(out)

    def _images(self, x: np.ndarray, what: str) -> np.ndarray:
        x = _floats(x, what)
        dims = (self.channels, self.height, self.width)
        if x.ndim != 4 or x.shape[1:] != dims or x.shape[0] == 0:
            raise ValueError(f"{what} must have the shape (N, {', '.join(map(str, dims))}), not {x.shape}")
        return x

    def encode(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The posterior of each image of `x` (N, C, H, W) float32 in [0, 1]: its mean and
        log-variance, each (N, latent) float32."""
        x = self._images(x, "x")
        n = x.shape[0]
        mu, logvar = self._native.encode(x.tobytes(), n)
        shape = (n, self.latent)
        return (
            np.frombuffer(mu, np.float32).reshape(shape).copy(),
            np.frombuffer(logvar, np.float32).reshape(shape).copy(),
        )

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Images (N, C, H, W) float32 in [0, 1] decoded from codes `z` (N, latent) float32."""
        z = _floats(z, "z")
        if z.ndim != 2 or z.shape[1] != self.latent or z.shape[0] == 0:
            raise ValueError(f"z must have the shape (N, {self.latent}), not {z.shape}")
        out = self._native.decode(z.tobytes())
        return np.frombuffer(out, np.float32).reshape(
            (z.shape[0], self.channels, self.height, self.width)
        ).copy()

    def sample(self, n: int = 64, seed: int = 1) -> np.ndarray:
        """`n` images (n, C, H, W) float32 decoded from z ~ N(0, I), drawn on the GPU from
        `seed` as `wgvae sample -n N --seed S` draws them (`image_grid` lays them out as it
        writes them)."""
        out = self._native.sample(n, seed)
        return np.frombuffer(out, np.float32).reshape(
            (n, self.channels, self.height, self.width)
        ).copy()

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Every parameter under PyTorch's name and shape (tools/torch_models.py's modules load
        it with strict=True), float32, in the model's order."""
        return {
            name: np.frombuffer(data, np.float32).reshape(shape).copy()
            for name, shape, data in self._native.tensors()
        }


def read_image(path: PathLike) -> np.ndarray:
    """A PNG or JPEG file as `wgvae restore` reads it: uint8 (H, W) for grey, (H, W, 3) for
    anything else (alpha dropped, 16 bits reduced to 8, EXIF orientation applied)."""
    data, height, width, channels = _wgvae.read_image(os.fspath(path))
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.frombuffer(data, np.uint8).reshape(shape).copy()


def write_image(path: PathLike, img: np.ndarray) -> None:
    """Writes `img` atomically in the format of `path`'s extension, 8 bits per channel
    (float32 is clipped to [0, 1] and rounded as the command writes its outputs)."""
    _wgvae.write_image(os.fspath(path), *_Image(img).args)


def degrade(
    img: np.ndarray,
    *,
    noise_sigma: Optional[float] = None,
    poisson_peak: Optional[float] = None,
    salt_pepper: Optional[float] = None,
    mask: Optional[np.ndarray] = None,
    mask_rect: Optional[Tuple[int, int, int, int]] = None,
    missing: Optional[float] = None,
    blur_sigma: Optional[float] = None,
    blur_size: int = 0,
    box_blur: Optional[int] = None,
    motion_blur: Optional[Tuple[int, float]] = None,
    seed: int = 1,
    return_mask: bool = False,
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """`img` damaged as `wgvae degrade` damages a file (the same seed, the same damage);
    with return_mask=True also the bool (H, W) mask of the pixels lost (mask, mask_rect,
    missing: a random fraction)."""
    image = _Image(img)
    out, lost = _wgvae.degrade(
        *image.args,
        noise_sigma=noise_sigma,
        poisson_peak=poisson_peak,
        salt_pepper=salt_pepper,
        mask=image.mask(mask),
        mask_rect=mask_rect,
        missing=missing,
        blur_sigma=blur_sigma,
        blur_size=blur_size,
        box_blur=box_blur,
        motion_blur=motion_blur,
        seed=seed,
    )
    degraded = image.like(out)
    if not return_mask:
        return degraded
    return degraded, np.frombuffer(lost, np.uint8).reshape(image.height, image.width) != 0


def enhance(
    img: np.ndarray,
    *,
    brightness: Optional[float] = None,
    contrast: Optional[float] = None,
    saturation: Optional[float] = None,
    gamma: Optional[float] = None,
    auto_levels: Union[bool, Tuple[float, float]] = False,
    adapter: Adapter = None,
) -> np.ndarray:
    """`img` adjusted on the GPU as `wgvae enhance` adjusts a file: auto_levels (True, or
    percentiles (low, high)), then brightness, contrast, saturation (factors, 1 = as is) and
    gamma."""
    image = _Image(img)
    levels = _DEFAULT_LEVELS if auto_levels is True else (auto_levels or None)
    out = _wgvae.enhance(
        *image.args,
        brightness=brightness,
        contrast=contrast,
        saturation=saturation,
        gamma=gamma,
        auto_levels=levels,
        adapter=_adapter(adapter),
    )
    return image.like(out)


def image_grid(images: np.ndarray, per_row: Optional[int] = None, scale: int = 3) -> np.ndarray:
    """Images (N, C, H, W) float32 laid out as `wgvae sample` writes them: per_row wide
    (default ceil(sqrt(N))), a one-pixel gap, each pixel `scale` times; uint8 (H', W') for
    grey images, (H', W', 3) for colour, as `read_image` reads the command's PNG."""
    images = _floats(images, "images")
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have the shape (N, 1 or 3, H, W), not {images.shape}")
    n, c, h, w = images.shape
    if per_row is None:
        per_row = int(np.ceil(np.sqrt(n)))
    data, height, width, channels = _wgvae.image_grid(
        images.tobytes(), n, c, h, w, per_row, scale
    )
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.frombuffer(data, np.uint8).reshape(shape).copy()


def train(
    *,
    data: Optional[PathLike] = None,
    arch: str = "mlp",
    epochs: int = 10,
    out: PathLike = "runs/vae.safetensors",
    callback: Optional[Callable[[int, Dict[str, float]], Any]] = None,
    batch: int = 128,
    latent: int = 20,
    hidden: Optional[Sequence[int]] = None,
    channels: Optional[Sequence[int]] = None,
    color: str = "grey",
    size: Tuple[int, int] = (28, 28),
    patch: Optional[int] = None,
    patches: int = 10_000,
    augment: bool = False,
    corrupt_noise: float = 0.0,
    beta: float = 1.0,
    likelihood: str = "bernoulli",
    learn_variance: bool = False,
    gaussian_logvar: float = 0.0,
    lr: float = 1e-3,
    lr_schedule: str = "constant",
    weight_decay: float = 0.0,
    seed: int = 1,
    resume: bool = False,
    force: bool = False,
    checkpoint_every: Optional[int] = None,
    adapter: Adapter = None,
) -> Model:
    """Trains a VAE as `wgvae train` does with the same flags and returns it.

    data: an MNIST IDX folder or an image folder (None: the MNIST subset built in). The
    checkpoint goes to `out`, its loss curve and sample grids beside it; an existing `out` is
    refused unless force=True (start afresh) or resume=True (continue up to `epochs`).
    callback(epoch, metrics) hears each epoch: epoch, epochs, step, train_loss, test_loss,
    test_recon, test_kl, samples_per_sec, seconds. Ctrl-C (or an exception from the
    callback) stops the run after a checkpoint and is raised here.
    """
    path = _wgvae.train(
        data=None if data is None else os.fspath(data),
        arch=arch,
        epochs=epochs,
        batch=batch,
        channels=None if channels is None else list(channels),
        hidden=None if hidden is None else list(hidden),
        color=color,
        size=tuple(size),
        patch=patch,
        patches=patches,
        augment=augment,
        corrupt_noise=corrupt_noise,
        latent=latent,
        beta=beta,
        likelihood=likelihood,
        learn_variance=learn_variance,
        gaussian_logvar=gaussian_logvar,
        lr=lr,
        lr_schedule=lr_schedule,
        weight_decay=weight_decay,
        seed=seed,
        out=os.fspath(out),
        resume=resume,
        force=force,
        checkpoint_every=checkpoint_every,
        callback=callback,
        adapter=_adapter(adapter),
    )
    return Model.load(path, adapter)
