"""Export the EMA generator to ONNX with its manifest, priors and a parity reference.

    /usr/bin/python3 scripts/export.py --run runs/train --labels runs/labels --out models/facestudio-v1 \
        [--checkpoint runs/gpu/snapshot-end.npz]

Writes generator.onnx (opset 17), manifest.json (inputs, condition layout, native
resolution, version, training data, licence, attribute priors measured on the labels)
and reference.json (a few z, c with PyTorch's output, which the server's tests compare
against onnxruntime's).
"""
import argparse
import base64
import csv
import datetime
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402
from model import Generator  # noqa: E402
from train import encode_condition  # noqa: E402

# API ethnicity -> the data's group. UTKFace's groups are coarse: east and southeast Asian
# share "asian"; west Asian and Latin American faces were labelled "other".
ETHNICITY_MAP = {
    "european": "white",
    "african": "black",
    "west_asian": "other",
    "south_asian": "indian",
    "east_asian": "asian",
    "southeast_asian": "asian",
    "latin_american": "other",
}


def priors_from_labels(rows):
    def mean_sd(vals):
        a = np.array(vals, dtype=np.float64)
        return {"mean": round(float(a.mean()), 3), "sd": round(float(a.std()), 3)}

    def rates(key, values):
        counts = {v: sum(1 for r in rows if r[key] == v) for v in values}
        total = max(1, sum(counts.values()))
        return {v: round(counts[v] / total, 4) for v in values}

    adult_men = [r for r in rows if r["gender"] == "male" and float(r["age"]) >= 16]
    mood = rates("mood", C.MOODS)
    return {
        "ethnicity_map": ETHNICITY_MAP,
        "skintone_by_group": {g: mean_sd([float(r["skintone"]) for r in rows if r["ethnicity"] == g])
                              for g in C.ETHNICITY_GROUPS},
        "hair_length_by_gender": {g: mean_sd([float(r["hair_length"]) for r in rows if r["gender"] == g])
                                  for g in ("male", "female")},
        "facial_hair": {"adult_male_rate": round(sum(float(r["facial_hair"]) >= 2 for r in adult_men)
                                                 / max(1, len(adult_men)), 4)},
        "eyewear": rates("eyewear", C.EYEWEAR),
        "lighting": rates("lighting", C.LIGHTING),
        # Only moods that occur in the training labels are drawn for "auto".
        "mood": mood,
        "yaw_sd": 8.0,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/train")
    ap.add_argument("--labels", default="runs/labels")
    ap.add_argument("--checkpoint", help="a training snapshot (default: <run>/ckpt.pt)")
    ap.add_argument("--out", default=f"models/{C.MODEL_NAME}")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    if args.checkpoint:  # a snapshot from train.py --snapshots: float16 arrays
        snap = np.load(args.checkpoint)
        ck = {"G_ema": {k: torch.from_numpy(snap[k]) for k in snap.files if k not in ("step", "shown")},
              "step": int(snap["step"]), "shown": int(snap["shown"])}
    else:
        ck = torch.load(os.path.join(args.run, "ckpt.pt"), map_location="cpu")
    G = Generator(C.LATENT_DIM, C.COND_DIM, C.G_CH)
    G.load_state_dict({k: v.float() for k, v in ck["G_ema"].items()})
    G.eval()
    kimg = ck["shown"] / 1000

    z = torch.randn(1, C.LATENT_DIM)
    c = torch.zeros(1, C.COND_DIM)
    onnx_path = os.path.join(args.out, "generator.onnx")
    torch.onnx.export(G, (z, c), onnx_path, input_names=["z", "c"], output_names=["image"],
                      dynamic_axes={"z": {0: "batch"}, "c": {0: "batch"}, "image": {0: "batch"}},
                      opset_version=17, do_constant_folding=True)

    with open(os.path.join(args.labels, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(args.labels, "labellers.json")) as f:
        labellers = json.load(f)

    layout, offset = [], 0
    values = {"ethnicity": C.ETHNICITY_GROUPS, "eyewear": C.EYEWEAR, "lighting": C.LIGHTING, "mood": C.MOODS}
    for name, size, meaning in C.CONDITION_LAYOUT:
        slot = {"name": name, "offset": offset, "size": size, "meaning": meaning}
        if name in values:
            slot["values"] = values[name]
        layout.append(slot)
        offset += size

    version = f"{C.MODEL_NAME}+{int(kimg)}kimg"
    manifest = {
        "name": C.MODEL_NAME,
        "version": version,
        "file": "generator.onnx",
        "opset": 17,
        "resolution": C.RESOLUTION,
        "latent_dim": C.LATENT_DIM,
        "inputs": {"latent": "z", "condition": "c"},
        "output": {"name": "image", "layout": "NCHW RGB", "range": [-1, 1]},
        "condition": layout,
        "condition_dim": C.COND_DIM,
        "priors": priors_from_labels(rows),
        "training": {
            "images_shown": int(ck["shown"]),
            "steps": int(ck["step"]),
            "exported": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": ["UTKFace (aligned & cropped, 22,146 images)", "CelebA-HQ (28,500 images, CelebAMask-HQ attributes)"],
            "labellers": labellers,
        },
        "licence": "Weights derived from UTKFace and CelebA-HQ: non-commercial research and educational use only.",
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)

    # Parity reference: fixed z and real label conditions, PyTorch output.
    g = torch.Generator().manual_seed(99)
    ref = []
    with torch.no_grad():
        for i in (0, 30000):
            zi = torch.randn(1, C.LATENT_DIM, generator=g)
            ci = torch.tensor([encode_condition(rows[i])], dtype=torch.float32)
            out = G(zi, ci).numpy().astype(np.float32)
            enc = lambda a: base64.b64encode(a.astype(np.float32).tobytes()).decode()  # noqa: E731
            ref.append({"z": enc(zi.numpy()), "c": enc(ci.numpy()), "image": enc(out)})
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump({"version": version, "cases": ref}, f)
    print(f"exported {version} to {args.out}")


if __name__ == "__main__":
    main()
