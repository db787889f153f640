"""A compact training pack for a GPU machine that can only be sent a few tens of MiB.

    /usr/bin/python3 scripts/training/pack.py --labels runs/labels --out runs/pack

One GPU call carries 64 MiB in all: the tracked working tree (the shipped ONNX model too) plus
the pack. The 64 px training images go as WebP mosaics of 16 x 16 faces (one file header per 256
faces; WebP keeps about 20 % more detail than JPEG at the same size on these faces), at the best
quality whose pack fits what the tree leaves (--budget-mib minus `git ls-files` minus a margin).
The condition vectors go as one float32 array and the sources as a small JSON, in labels.csv
order. Only training rows are packed (FairFace's evaluation split never is). A pack holds derived
data of the datasets and never leaves the ignored runs/ folder.
"""
import argparse
import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402
from condition import encode_condition  # noqa: E402

PER_SIDE = 16
MARGIN_MIB = 1.5  # manifests, reports and files that land between packing and the GPU call


def mosaics(images):
    """Images (N x S x S x 3) -> list of 16 x 16 mosaics (the last padded with black)."""
    n, size = len(images), images.shape[1]
    per = PER_SIDE * PER_SIDE
    out = []
    for start in range(0, n, per):
        tiles = np.zeros((per, size, size, 3), np.uint8)
        tiles[: min(per, n - start)] = images[start:start + per]
        out.append(tiles.reshape(PER_SIDE, PER_SIDE, size, size, 3).transpose(0, 2, 1, 3, 4)
                   .reshape(PER_SIDE * size, PER_SIDE * size, 3))
    return out


def encode(mosaic, quality):
    buf = io.BytesIO()
    Image.fromarray(mosaic).save(buf, "WEBP", quality=quality, method=6)
    return buf.getvalue()


def tracked_tree_bytes():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout.split(b"\0")
    return sum(os.path.getsize(os.path.join(root, f.decode())) for f in files if f and os.path.exists(os.path.join(root, f.decode())))


def best_quality(tiles, budget_bytes):
    """Highest WebP quality (5-step grid) whose pack, estimated on every 8th mosaic, fits."""
    sample = tiles[::8]
    for q in range(95, 20, -5):
        est = sum(len(encode(m, q)) for m in sample) * len(tiles) / len(sample)
        if est <= budget_bytes * 0.98:
            return q
    raise SystemExit("the pack does not fit even at WebP quality 25")


def write_pack(images, cond, sources, out, quality):
    os.makedirs(out, exist_ok=True)
    total = 0
    for m, mosaic in enumerate(mosaics(images)):
        data = encode(mosaic, quality)
        with open(os.path.join(out, f"mosaic{m:04d}.webp"), "wb") as f:
            f.write(data)
        total += len(data)
    np.save(os.path.join(out, "cond.npy"), cond.astype(np.float32))
    counts = {s: sources.count(s) for s in dict.fromkeys(sources)}
    with open(os.path.join(out, "pack.json"), "w") as f:
        json.dump({"count": len(images), "size": int(images.shape[1]), "per_side": PER_SIDE, "format": "webp",
                   "quality": quality, "cond_dim": int(cond.shape[1]), "per_source": counts}, f)
    return total


def read_pack(folder):
    """(images uint8 N x H x W x 3, condition vectors float32 N x COND_DIM)."""
    with open(os.path.join(folder, "pack.json")) as f:
        meta = json.load(f)
    n, size, per_side = meta["count"], meta["size"], meta["per_side"]
    ext = meta.get("format", "jpg")
    per = per_side * per_side
    images = np.zeros((n, size, size, 3), np.uint8)
    for m, start in enumerate(range(0, n, per)):
        mosaic = np.asarray(Image.open(os.path.join(folder, f"mosaic{m:04d}.{ext}")).convert("RGB"))
        tiles = mosaic.reshape(per_side, size, per_side, size, 3).transpose(0, 2, 1, 3, 4).reshape(per, size, size, 3)
        images[start:start + per] = tiles[: min(per, n - start)]
    cond = np.load(os.path.join(folder, "cond.npy"))
    assert len(cond) == n and cond.shape[1] == C.COND_DIM, "pack does not match config.CONDITION_LAYOUT"
    return images, cond


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default="runs/labels")
    ap.add_argument("--out", default="runs/pack")
    ap.add_argument("--budget-mib", type=float, default=64.0, help="what one GPU call carries, tree included")
    ap.add_argument("--quality", type=int, help="WebP quality (default: the best that fits the budget)")
    args = ap.parse_args()
    with open(os.path.join(args.labels, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    images = np.load(os.path.join(args.labels, f"images{C.RESOLUTION}.npy"))
    train = [i for i, r in enumerate(rows) if r["split"] != "evaluation"]
    rows, images = [rows[i] for i in train], images[train]
    cond = np.array([encode_condition(r) for r in rows], np.float32)
    tree = tracked_tree_bytes()
    budget = args.budget_mib * 2**20 - tree - MARGIN_MIB * 2**20 - cond.nbytes - 4096
    quality = args.quality or best_quality(mosaics(images), budget)
    size = write_pack(images, cond, [r["source"] for r in rows], args.out, quality)
    back, _ = read_pack(args.out)
    err = np.abs(back.astype(np.float32) - images.astype(np.float32)).mean()
    total = size + cond.nbytes
    per_source = ", ".join(f"{s} {n}" for s, n in Counter(r["source"] for r in rows).items())
    print(f"{len(images)} images ({per_source}) "
          f"in {total / 2**20:.1f} MiB (WebP quality {quality}, mean absolute error {err:.2f} / 255); "
          f"tracked tree {tree / 2**20:.1f} MiB; together {(total + tree) / 2**20:.1f} of {args.budget_mib:.0f} MiB")


if __name__ == "__main__":
    main()
