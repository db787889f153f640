"""Which degradation of a real 128 px face looks like the generator's 64 px output?

    npx tsx scripts/tools/sample_native.ts --n 1024 --out runs/native64.f32
    /usr/bin/python3 scripts/training/fit_degradation.py --native runs/native64.f32 --labels runs/labels

Compares the luma power spectrum of the face region (the central 48 x 48 px, Hann-windowed, in
six radial bands up to Nyquist, each as a share of the total) of the generator's faces with that
of real faces taken to 64 px by each candidate: Gaussian blur (sigma in 128 px units), area or
bicubic resampling, then an unsharp mask at 64 px. Prints every candidate's distance (mean
absolute log ratio over the bands) and the Laplacian variance of both, best first; config.py's
UPSCALER_BLUR_SIGMA / UPSCALER_RESAMPLE / UPSCALER_LR_SHARPEN span the best few.
"""
import argparse
import itertools
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from train_upscaler import gaussian_blur, sharpen  # noqa: E402

BANDS = [(0.05, 0.15), (0.15, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0)]  # of Nyquist


def luma(x):
    return 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]


def band_shares(x):
    """N x 3 x 64 x 64 in [0, 1] -> the mean spectrum's share in each band."""
    y = luma(x)[:, 8:56, 8:56]
    y = y - y.mean((1, 2), keepdim=True)
    w = torch.hann_window(48, periodic=False)
    power = torch.fft.fftshift(torch.fft.fft2(y * w[:, None] * w[None, :]).abs() ** 2, dim=(-2, -1)).mean(0)
    yy, xx = torch.meshgrid(torch.arange(48) - 24, torch.arange(48) - 24, indexing="ij")
    r = torch.sqrt((yy ** 2 + xx ** 2).float()) / 24
    total = power[(r >= BANDS[0][0]) & (r < 1)].sum()
    return np.array([float(power[(r >= a) & (r < b)].sum() / total) for a, b in BANDS])


def laplacian_variance(x):
    k = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=torch.float32)[None, None]
    return float(F.conv2d(luma(x)[:, None, 8:56, 8:56], k).var((1, 2, 3)).mean() * 255 ** 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--native", default="runs/native64.f32")
    ap.add_argument("--labels", default="runs/labels")
    ap.add_argument("--real", type=int, default=192, help="real faces per set (UTKFace, CelebA-HQ)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    native = torch.from_numpy(np.fromfile(args.native, dtype=np.float32).reshape(-1, 3, 64, 64))
    rng = np.random.RandomState(0)
    real = []
    for name in ("utk128.npy", "cel128.npy"):
        faces = np.load(os.path.join(args.labels, name), mmap_mode="r")
        real.append(torch.from_numpy(np.asarray(faces[np.sort(rng.choice(len(faces), args.real, replace=False))])))
    hr = torch.cat(real).permute(0, 3, 1, 2).float() / 255
    target = np.log(band_shares(native))
    print(f"generator ({len(native)} faces): bands {np.round(np.exp(target), 4).tolist()}, "
          f"Laplacian variance {laplacian_variance(native):.0f}")
    rows = []
    for mode, sigma, amount in itertools.product(("area", "bicubic"), (0, 0.3, 0.5, 0.7, 1.0), (0, 0.25, 0.5, 0.75)):
        x = gaussian_blur(hr, sigma) if sigma else hr
        x = F.interpolate(x, size=(64, 64), mode=mode, **({} if mode == "area" else {"align_corners": False}))
        x = sharpen(x, amount).clamp(0, 1)
        shares = band_shares(x)
        rows.append((float(np.abs(np.log(shares) - target).mean()), mode, sigma, amount, laplacian_variance(x), shares))
    for d, mode, sigma, amount, lap, shares in sorted(rows, key=lambda r: r[0]):
        print(f"{d:.3f}  {mode:7s} blur {sigma:.1f} sharpen {amount:.2f}  Laplacian variance {lap:5.0f}  "
              f"bands {np.round(shares, 4).tolist()}")


if __name__ == "__main__":
    main()
