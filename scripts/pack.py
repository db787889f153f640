"""A compact training pack for a GPU machine that can only be sent a few tens of MiB.

    /usr/bin/python3 scripts/pack.py --labels runs/labels --out runs/pack

The 64 px training images go as JPEG mosaics of 16 x 16 faces (one file header per 256 faces
instead of one per face; 64 is a multiple of JPEG's 16 px block, so no face bleeds into its
neighbour) and the condition vectors as one float32 array, in labels.csv order. A pack holds
only derived data of the datasets and never leaves the ignored runs/ folder.
"""
import argparse
import csv
import io
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402

PER_SIDE = 16


def write_pack(images, cond, out, quality):
    os.makedirs(out, exist_ok=True)
    n, size = len(images), images.shape[1]
    per = PER_SIDE * PER_SIDE
    total = 0
    for m, start in enumerate(range(0, n, per)):
        tiles = np.zeros((per, size, size, 3), np.uint8)
        tiles[: min(per, n - start)] = images[start:start + per]
        mosaic = tiles.reshape(PER_SIDE, PER_SIDE, size, size, 3).transpose(0, 2, 1, 3, 4)
        buf = io.BytesIO()
        Image.fromarray(mosaic.reshape(PER_SIDE * size, PER_SIDE * size, 3)).save(
            buf, "JPEG", quality=quality, optimize=True)
        with open(os.path.join(out, f"mosaic{m:04d}.jpg"), "wb") as f:
            f.write(buf.getvalue())
        total += buf.tell()
    np.save(os.path.join(out, "cond.npy"), cond.astype(np.float32))
    with open(os.path.join(out, "pack.json"), "w") as f:
        json.dump({"count": n, "size": size, "per_side": PER_SIDE, "quality": quality,
                   "cond_dim": int(cond.shape[1])}, f)
    return total


def read_pack(folder):
    """(images uint8 N x H x W x 3, condition vectors float32 N x COND_DIM)."""
    with open(os.path.join(folder, "pack.json")) as f:
        meta = json.load(f)
    n, size, per_side = meta["count"], meta["size"], meta["per_side"]
    per = per_side * per_side
    images = np.zeros((n, size, size, 3), np.uint8)
    for m, start in enumerate(range(0, n, per)):
        mosaic = np.asarray(Image.open(os.path.join(folder, f"mosaic{m:04d}.jpg")).convert("RGB"))
        tiles = mosaic.reshape(per_side, size, per_side, size, 3).transpose(0, 2, 1, 3, 4).reshape(per, size, size, 3)
        images[start:start + per] = tiles[: min(per, n - start)]
    cond = np.load(os.path.join(folder, "cond.npy"))
    assert len(cond) == n and cond.shape[1] == C.COND_DIM, "pack does not match config.CONDITION_LAYOUT"
    return images, cond


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default="runs/labels")
    ap.add_argument("--out", default="runs/pack")
    ap.add_argument("--quality", type=int, default=90)
    args = ap.parse_args()
    from train import encode_condition
    with open(os.path.join(args.labels, "labels.csv")) as f:
        cond = np.array([encode_condition(r) for r in csv.DictReader(f)], np.float32)
    images = np.load(os.path.join(args.labels, f"images{C.RESOLUTION}.npy"))
    size = write_pack(images, cond, args.out, args.quality)
    back, _ = read_pack(args.out)
    err = np.abs(back.astype(np.float32) - images.astype(np.float32)).mean()
    print(f"{len(images)} images in {size / 2**20:.1f} MiB of JPEG (quality {args.quality}); "
          f"mean absolute error {err:.2f} / 255")


if __name__ == "__main__":
    main()
