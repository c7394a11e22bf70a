"""wgvae's models in PyTorch: one definition for every tool (pytorch_eval.py,
pytorch_reference.py, make-golden.py).

Parameter names are wgvae's (src/model/layout.rs), so a wgvae checkpoint loads with
load_state_dict(strict=True) and a state dict saved from these modules is a wgvae checkpoint's
tensor set. Needs torch (import this module only where torch is installed).

Config: a dict as wgvae writes it in a checkpoint's metadata ("wgvae" -> "config"):
    arch            "mlp" or "conv"; absent means "mlp" (checkpoints before the conv model)
    height, width   image size in pixels; older checkpoints say "rows", "cols" instead
    channels        image channels (planar, NCHW); absent means 1
    conv_channels   conv only: output channels of the encoder's convolutions, input side first
    hidden          dense hidden sizes, input side first; the decoder mirrors them
    latent          latent size
    likelihood      "bernoulli" (logits, BCE-with-logits) or "gaussian" (mean, plus `logvar_x`)
    beta            weight of the KL term
    learn_variance, gaussian_logvar   Gaussian only
`normalise_config` fills the defaults and renames rows/cols.

MLP (pytorch/examples/vae's VAE, any depth): fc1 (C*H*W -> hidden[0]) ReLU, fc1_2
(hidden[0] -> hidden[1]) ReLU, ...; heads fc21 (mu), fc22 (logvar) (hidden[-1] -> latent);
decoder fc3 (latent -> hidden[-1]) ReLU, fc3_2, ... (the mirror image, ending at hidden[0]);
fc4 (hidden[0] -> C*H*W) gives logits. For hidden [400], latent 20 the parameters (names,
shapes, creation order, hence the initial values under a given torch.manual_seed) are the
example's exactly.

Conv: encoder conv1 Conv2d(C -> ch[0], k4 s2 p1) ReLU, conv2 (ch[0] -> ch[1]) ReLU, ...;
flatten in NCHW order (torch.flatten(x, 1)) to ch[-1]*h*w with h = H / 2^len(ch),
w = W / 2^len(ch); dense fc1 (flat -> hidden[0]) ReLU, fc1_2, ... ; heads fc21, fc22; decoder
fc3 (latent -> hidden[-1]) ReLU, fc3_2, ... (ending at hidden[0]); fc4 (hidden[0] ->
ch[-1]*h*w) ReLU; reshape to [ch[-1], h, w]; deconv1 ConvTranspose2d(ch[-1] -> ch[-2], k4 s2
p1) ReLU, ..., the last deconvN (ch[0] -> C) gives logits (no activation). Every convolution
is kernel 4, stride 2, padding 1. Parameters are created in forward order (conv*, fc1*, fc21,
fc22, fc3*, fc4, deconv*), each with PyTorch's default initialisation.

The Gaussian likelihood adds `logvar_x` [1], initialised to gaussian_logvar (trainable only
with learn_variance), last, as src/model/layout.rs does.

Every model's forward(x, eps=None) takes x as [B, C, H, W] or [B, C*H*W] and returns
(logits [B, C*H*W], mu, logvar, z), with z = mu + exp(logvar / 2) * eps; eps defaults to
torch.randn_like(mu).
"""

import torch
import torch.nn.functional as F
from torch import nn

KERNEL, STRIDE, PADDING = 4, 2, 1

#: The comparison conv VAE of ../shared/reference/pytorch-vae-mnist.md (1,691,369 parameters).
CONV_COMPARISON = {
    "arch": "conv",
    "height": 28,
    "width": 28,
    "channels": 1,
    "conv_channels": [32, 64],
    "hidden": [256],
    "latent": 20,
    "likelihood": "bernoulli",
    "beta": 1.0,
    "learn_variance": False,
    "gaussian_logvar": 0.0,
}

#: pytorch/examples/vae's model (784-400-20), wgvae's default.
MLP_EXAMPLE = {
    "arch": "mlp",
    "height": 28,
    "width": 28,
    "channels": 1,
    "conv_channels": [],
    "hidden": [400],
    "latent": 20,
    "likelihood": "bernoulli",
    "beta": 1.0,
    "learn_variance": False,
    "gaussian_logvar": 0.0,
}


class ConfigError(ValueError):
    """A config these models cannot be built from; the message says why."""


def numbered(base, i):
    """wgvae's layer names: base, base_2, base_3, ..."""
    return base if i == 0 else f"{base}_{i + 1}"


def normalise_config(config):
    """A copy of `config` with the defaults filled in (arch mlp, channels 1, conv_channels [],
    beta 1, learn_variance false, gaussian_logvar 0) and rows/cols renamed height/width.
    Raises ConfigError on a config no model can be built from."""
    c = dict(config)
    for old, new in (("rows", "height"), ("cols", "width")):
        if old in c:
            if new in c and c[new] != c[old]:
                raise ConfigError(f"config has both {old} {c[old]} and {new} {c[new]}")
            c[new] = c.pop(old)
    c.setdefault("arch", "mlp")
    c.setdefault("channels", 1)
    c.setdefault("conv_channels", [])
    c.setdefault("likelihood", "bernoulli")
    c.setdefault("beta", 1.0)
    c.setdefault("learn_variance", False)
    c.setdefault("gaussian_logvar", 0.0)

    def positive_int(v):
        return isinstance(v, int) and not isinstance(v, bool) and v > 0

    def positive_list(v):
        return isinstance(v, list) and all(positive_int(h) for h in v)

    problems = []
    for key in ("height", "width", "channels", "latent"):
        if not positive_int(c.get(key)):
            problems.append(f"{key} {c.get(key)!r}")
    if not positive_list(c.get("hidden")) or not c.get("hidden"):
        problems.append(f"hidden sizes {c.get('hidden')!r}")
    if c["likelihood"] not in ("bernoulli", "gaussian"):
        problems.append(f"likelihood {c['likelihood']!r}")
    if c["arch"] == "mlp":
        if c["conv_channels"]:
            problems.append(f"conv_channels {c['conv_channels']!r} on an mlp")
    elif c["arch"] == "conv":
        ch = c["conv_channels"]
        if not positive_list(ch) or not ch:
            problems.append(f"conv_channels {ch!r}")
        elif not problems:
            f = 2 ** len(ch)
            if c["height"] % f or c["width"] % f:
                problems.append(
                    f"{len(ch)} stride-2 convolutions need height and width divisible by {f}, "
                    f"got {c['height']}x{c['width']}"
                )
    else:
        problems.append(f"arch {c['arch']!r}")
    if problems:
        raise ConfigError("; ".join(problems))
    return c


def input_dim(config):
    return config["channels"] * config["height"] * config["width"]


class _Base(nn.Module):
    """What both models share: the dense encoder tail, the heads, the dense decoder head,
    reparameterisation and `logvar_x`."""

    def _dense_encoder(self, inputs, hidden, latent):
        self.encoder_names = []
        prev = inputs
        for i, size in enumerate(hidden):
            name = numbered("fc1", i)
            setattr(self, name, nn.Linear(prev, size))
            self.encoder_names.append(name)
            prev = size
        self.fc21 = nn.Linear(prev, latent)
        self.fc22 = nn.Linear(prev, latent)

    def _dense_decoder(self, latent, hidden, outputs):
        self.decoder_names = []
        prev = latent
        for i, size in enumerate(reversed(hidden)):
            name = numbered("fc3", i)
            setattr(self, name, nn.Linear(prev, size))
            self.decoder_names.append(name)
            prev = size
        self.fc4 = nn.Linear(prev, outputs)

    def _likelihood(self, config):
        if config["likelihood"] == "gaussian":
            self.logvar_x = nn.Parameter(
                torch.full([1], float(config["gaussian_logvar"])),
                requires_grad=bool(config["learn_variance"]),
            )

    def _heads(self, h):
        for name in self.encoder_names:
            h = F.relu(getattr(self, name)(h))
        return self.fc21(h), self.fc22(h)

    def _dense_decode(self, z):
        h = z
        for name in self.decoder_names:
            h = F.relu(getattr(self, name)(h))
        return self.fc4(h)

    @staticmethod
    def reparameterize(mu, logvar, eps=None):
        if eps is None:
            eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar, z


class MlpVae(_Base):
    """pytorch/examples/vae's VAE with wgvae's layer names, logits out."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.inputs = input_dim(config)
        self._dense_encoder(self.inputs, config["hidden"], config["latent"])
        self._dense_decoder(config["latent"], config["hidden"], self.inputs)
        self._likelihood(config)

    def encode(self, x):
        return self._heads(x.reshape(-1, self.inputs))

    def decode(self, z):
        """Logits [B, C*H*W]."""
        return self._dense_decode(z)


class ConvVae(_Base):
    """wgvae's conv VAE: stride-2 convolutions, dense layers, transposed convolutions."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.inputs = input_dim(config)
        c, ch = config["channels"], config["conv_channels"]
        self.image = (c, config["height"], config["width"])
        f = 2 ** len(ch)
        self.bottleneck = (ch[-1], config["height"] // f, config["width"] // f)
        flat = ch[-1] * self.bottleneck[1] * self.bottleneck[2]
        self.conv_names = []
        prev = c
        for i, out in enumerate(ch):
            name = f"conv{i + 1}"
            setattr(self, name, nn.Conv2d(prev, out, KERNEL, STRIDE, PADDING))
            self.conv_names.append(name)
            prev = out
        self._dense_encoder(flat, config["hidden"], config["latent"])
        self._dense_decoder(config["latent"], config["hidden"], flat)
        self.deconv_names = []
        outs = list(reversed(ch[:-1])) + [c]
        prev = ch[-1]
        for i, out in enumerate(outs):
            name = f"deconv{i + 1}"
            setattr(self, name, nn.ConvTranspose2d(prev, out, KERNEL, STRIDE, PADDING))
            self.deconv_names.append(name)
            prev = out
        self._likelihood(config)

    def encode(self, x):
        h = x.reshape(-1, *self.image)
        for name in self.conv_names:
            h = F.relu(getattr(self, name)(h))
        return self._heads(torch.flatten(h, 1))

    def decode(self, z):
        """Logits [B, C*H*W] (NCHW order)."""
        h = F.relu(self._dense_decode(z)).reshape(-1, *self.bottleneck)
        last = len(self.deconv_names) - 1
        for i, name in enumerate(self.deconv_names):
            h = getattr(self, name)(h)
            if i < last:
                h = F.relu(h)
        return torch.flatten(h, 1)


def build_model(config):
    """The module for `config` (normalised first), in float32 with PyTorch's default init."""
    c = normalise_config(config)
    return ConvVae(c) if c["arch"] == "conv" else MlpVae(c)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def kl_divergence(mu, logvar):
    """-1/2 sum(1 + logvar - mu^2 - exp(logvar)), summed over everything."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def bce_with_logits(logits, x):
    """Bernoulli negative log-likelihood of x (values in [0, 1]), summed over everything."""
    return F.binary_cross_entropy_with_logits(logits, x.reshape(logits.shape), reduction="sum")
