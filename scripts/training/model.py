"""Generator, discriminator and attribute critic of Face Studio v1.

G(z, c): z (seed) and c (attributes) enter separately. c goes through its own embedding;
the mapping network mixes them into one style vector w that modulates every block (FiLM
after pixel norm). Nothing in G depends on batch statistics, so one face is a pure
function of (z, c): what the server needs for reproducible seeds, and what lets an
exponential moving average of G be used without recomputing norms.

C(x): the attribute critic, a small CNN trained on the data before G and then frozen. Its
reading of G(z, c) is pulled toward c (as AttGAN's classifier loss does), the direct
pressure on G to show the asked-for gender and age.

D(x, c): residual conv net with a projection term <phi(x), E c> (Miyato & Koyama 2018)
and an auxiliary head that regresses c from real images (AC-GAN style), which makes D's
features attribute-aware.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def pixel_norm(x, eps=1e-8):
    return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + eps)


class StyledConv(nn.Module):
    def __init__(self, c_in, c_out, w_dim):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.film = nn.Linear(w_dim, 2 * c_out)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x, w):
        x = pixel_norm(F.leaky_relu(self.conv(x), 0.2))
        gamma, beta = self.film(w)[:, :, None, None].chunk(2, 1)
        return x * (1 + gamma) + beta


class Generator(nn.Module):
    def __init__(self, z_dim, c_dim, channels, w_dim=256):
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        self.embed_c = nn.Sequential(nn.Linear(c_dim, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128))
        self.mapping = nn.Sequential(nn.Linear(z_dim + 128, w_dim), nn.LeakyReLU(0.2),
                                     nn.Linear(w_dim, w_dim), nn.LeakyReLU(0.2),
                                     nn.Linear(w_dim, w_dim))
        self.input = nn.Linear(w_dim, channels[0] * 16)
        self.c0 = channels[0]
        self.first = StyledConv(channels[0], channels[0], w_dim)
        self.blocks = nn.ModuleList()
        self.to_rgb = nn.ModuleList([nn.Conv2d(channels[0], 3, 1)])
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            self.blocks.append(nn.ModuleList([StyledConv(c_in, c_out, w_dim), StyledConv(c_out, c_out, w_dim)]))
            self.to_rgb.append(nn.Conv2d(c_out, 3, 1))

    def forward(self, z, c):
        w = self.mapping(torch.cat([pixel_norm(z), self.embed_c(c)], 1))
        x = pixel_norm(self.input(w).view(-1, self.c0, 4, 4))
        x = self.first(x, w)
        # Skip architecture: every resolution adds its RGB, upsampled, to the output.
        rgb = self.to_rgb[0](x)
        for (a, b), to_rgb in zip(self.blocks, self.to_rgb[1:]):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = b(a(x, w), w)
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + to_rgb(x)
        return rgb


class DBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.avg_pool2d(F.leaky_relu(self.conv2(h), 0.2), 2)
        return (h + F.avg_pool2d(self.skip(x), 2)) / math.sqrt(2)


class AttributeNet(nn.Module):
    """Reads attributes off a face, x in [0, 1]. label.py trains it to label one dataset from
    the other; train.py trains one on all the data and, frozen, checks that G draws what c asks
    for. Batch norm is fine here: it is never part of G."""

    def __init__(self, n_out):
        super().__init__()
        chans, layers, c_in = [32, 64, 128], [], 3
        for c in chans:
            layers += [nn.Conv2d(c_in, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU(True),
                       nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.ReLU(True)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, n_out)

    def forward(self, x):
        return self.head(self.body(x * 2 - 1).mean((2, 3)))


class Discriminator(nn.Module):
    def __init__(self, c_dim, channels, resolution, feat=256):
        super().__init__()
        self.from_rgb = nn.Conv2d(3, channels[0], 1)
        blocks, size = [], resolution
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            blocks.append(DBlock(c_in, c_out))
            size //= 2
        self.blocks = nn.Sequential(*blocks)
        self.final_conv = nn.Conv2d(channels[-1] + 1, channels[-1], 3, 1, 1)
        self.fc = nn.Linear(channels[-1] * size * size, feat)
        self.out = nn.Linear(feat, 1)
        self.project = nn.Linear(c_dim, feat, bias=False)
        self.aux = nn.Linear(feat, c_dim)

    def forward(self, x, c):
        h = self.blocks(F.leaky_relu(self.from_rgb(x), 0.2))
        # Minibatch standard deviation (groups of 4): lets D see a lack of variety.
        n, ch, hh, ww = h.shape
        g = min(4, n)
        # In float32 and with an epsilon under the root: under bf16 autocast four equal features
        # are common, and the gradient of a zero standard deviation is infinite (a GPU run went
        # NaN within 100 steps on 2026-12-04).
        grouped = h[: n - n % g].float().view(g, -1, ch, hh, ww)
        s = (grouped.var(0, unbiased=False) + 1e-8).sqrt().mean((1, 2, 3)).to(h.dtype)
        s = s.repeat(g)
        if n % g:
            s = torch.cat([s, s[: n % g]])
        h = torch.cat([h, s.view(n, 1, 1, 1).expand(n, 1, hh, ww)], 1)
        h = F.leaky_relu(self.final_conv(h), 0.2)
        phi = F.leaky_relu(self.fc(h.flatten(1)), 0.2)
        logit = self.out(phi).squeeze(1) + (phi * self.project(c)).sum(1)
        return logit, self.aux(phi)


# Upscaler checkpoints written before the shape was recorded in them.
LEGACY_UPSCALER_ARCH = {"channels": 32, "body": 6, "slopes": "channel"}


class Upscaler(nn.Module):
    """Learned x2 face super-resolution, 64 -> 128 px (SRVGGNetCompact's shape: Wang et al.,
    Real-ESRGAN 2021): every convolution runs at the input size, one pixel shuffle at the end,
    and the network only adds detail to a bilinear upsampling of its input. x in [-1, 1].

    slopes="channel" is SRVGGNetCompact's PReLU, one learned slope per channel. slopes="layer"
    learns one slope per layer and exports as LeakyRelu, which onnxruntime fuses into the
    convolution before it; a per-channel PReLU runs as its own pass, with layout conversions
    around it, and took 40 % of the net's time on the server (5.0 -> 3.2 ms per 64 px face)."""

    def __init__(self, channels=32, body=6, slopes="channel"):
        super().__init__()
        assert slopes in ("channel", "layer"), slopes
        self.arch = {"channels": channels, "body": body, "slopes": slopes}
        act = lambda: nn.PReLU(channels if slopes == "channel" else 1)  # noqa: E731
        layers = [nn.Conv2d(3, channels, 3, 1, 1), act()]
        for _ in range(body):
            layers += [nn.Conv2d(channels, channels, 3, 1, 1), act()]
        layers += [nn.Conv2d(channels, 3 * 4, 3, 1, 1), nn.PixelShuffle(2)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        base = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return base + self.body(x)

    def with_layer_slopes(self):
        """A copy with one slope per layer, each the mean of the layer's channel slopes: where a
        fine-tune from a per-channel net starts."""
        net = Upscaler(self.arch["channels"], self.arch["body"], "layer")
        for src, dst in zip(self.body, net.body):
            if isinstance(src, nn.PReLU):
                dst.weight.data.fill_(float(src.weight.mean()))
            else:
                dst.load_state_dict(src.state_dict())
        return net

    def for_export(self):
        """The same function with each one-slope PReLU as a LeakyReLU (see the class docstring)."""
        if self.arch["slopes"] == "channel":
            return self
        net = Upscaler(**self.arch)
        net.load_state_dict(self.state_dict())
        net.body = nn.Sequential(*[nn.LeakyReLU(float(m.weight)) if isinstance(m, nn.PReLU) else m for m in net.body])
        return net
