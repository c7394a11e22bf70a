"""Type stubs of wgvae's native half (wgvae._wgvae). Use the package `wgvae`, which checks
arrays and passes their bytes here."""

from typing import Any, Callable, Dict, List, Optional, Tuple

class Error(Exception):
    """A GPU, file or model failure, with the command line's one-line message."""

class Model:
    @staticmethod
    def load(source: str, adapter: Optional[str] = None) -> Model: ...
    @staticmethod
    def from_bytes(data: bytes, name: str = "model.safetensors", adapter: Optional[str] = None) -> Model: ...
    @property
    def name(self) -> str: ...
    @property
    def config_json(self) -> str: ...
    @property
    def adapter(self) -> str: ...
    @property
    def dims(self) -> Tuple[int, int, int, int]: ...
    def restore(
        self,
        data: bytes,
        height: int,
        width: int,
        channels: int,
        float: bool,
        *,
        noise_sigma: Any = None,
        poisson_peak: Optional[float] = None,
        salt_pepper: Optional[float] = None,
        mask: Optional[bytes] = None,
        mask_rect: Optional[Tuple[int, int, int, int]] = None,
        blur_sigma: Optional[float] = None,
        blur_size: int = 0,
        box_blur: Optional[int] = None,
        motion_blur: Optional[Tuple[int, float]] = None,
        method: str = "posterior",
        steps: Optional[int] = None,
        window_step: Optional[int] = None,
        samples: int = 1,
        batch: int = 1024,
    ) -> bytes: ...
    def encode(self, data: bytes, n: int) -> Tuple[bytes, bytes]: ...
    def decode(self, data: bytes) -> bytes: ...
    def sample(self, n: int, seed: int) -> bytes: ...
    def tensors(self) -> List[Tuple[str, List[int], bytes]]: ...

def adapters() -> List[Dict[str, Any]]: ...
def builtin_models() -> Tuple[List[str], Tuple[float, float]]: ...
def read_image(path: str) -> Tuple[bytes, int, int, int]: ...
def write_image(path: str, data: bytes, height: int, width: int, channels: int, float: bool) -> None: ...
def degrade(
    data: bytes,
    height: int,
    width: int,
    channels: int,
    float: bool,
    *,
    noise_sigma: Optional[float] = None,
    poisson_peak: Optional[float] = None,
    salt_pepper: Optional[float] = None,
    mask: Optional[bytes] = None,
    mask_rect: Optional[Tuple[int, int, int, int]] = None,
    missing: Optional[float] = None,
    blur_sigma: Optional[float] = None,
    blur_size: int = 0,
    box_blur: Optional[int] = None,
    motion_blur: Optional[Tuple[int, float]] = None,
    seed: int = 1,
) -> Tuple[bytes, bytes]: ...
def enhance(
    data: bytes,
    height: int,
    width: int,
    channels: int,
    float: bool,
    *,
    brightness: Optional[float] = None,
    contrast: Optional[float] = None,
    saturation: Optional[float] = None,
    gamma: Optional[float] = None,
    auto_levels: Optional[Tuple[float, float]] = None,
    adapter: Optional[str] = None,
) -> bytes: ...
def image_grid(
    data: bytes, n: int, channels: int, height: int, width: int, per_row: int, scale: int
) -> Tuple[bytes, int, int, int]: ...
def train(
    *,
    data: Optional[str] = None,
    arch: str = "mlp",
    epochs: int = 10,
    batch: int = 128,
    channels: Optional[List[int]] = None,
    hidden: Optional[List[int]] = None,
    color: str = "grey",
    size: Tuple[int, int] = (28, 28),
    patch: Optional[int] = None,
    patches: int = 10000,
    augment: bool = False,
    corrupt_noise: float = 0.0,
    latent: int = 20,
    beta: float = 1.0,
    likelihood: str = "bernoulli",
    learn_variance: bool = False,
    gaussian_logvar: float = 0.0,
    lr: float = 1e-3,
    lr_schedule: str = "constant",
    weight_decay: float = 0.0,
    seed: int = 1,
    out: str = "runs/vae.safetensors",
    resume: bool = False,
    force: bool = False,
    checkpoint_every: Optional[int] = None,
    callback: Optional[Callable[[int, Dict[str, Any]], Any]] = None,
    adapter: Optional[str] = None,
) -> str: ...
