"""Stage 1 of labels v2: run the frozen human-models face networks over every dataset image.

    /usr/bin/python3 scripts/training/analyse_faces.py --datasets ../shared/datasets --out runs/labels

For each of utkface, celebahq and fairface, in chunks of CHUNK images (resumable: finished
chunks are skipped), writes <out>/analysis/<set>-<chunk>.npz with
  n_faces   faces the short-range detector finds (score >= 0.5, after NMS)
  scores    the best three detector scores (0 where fewer)
  box       the best detection, x1 y1 x2 y2 in pixels of the 128 px image
  second    the second face's box side relative to the best one (0 when alone)
  mesh      468 FaceMesh landmarks (x, y in image pixels, z in the same scale), float16
  mesh_score FaceMesh's face score
  emotion   the expression net's seven probabilities (face_nets.EMOTIONS order)
The decoded 128 px images are cached as <out>/<set>128.npy.

Cost per image on 2 cores (measured 2026-12-04, batch 64, one thread per process, two processes):
the detector 3.8 ms, FaceMesh 6.7 ms and the expression net 0.8 ms under bf16 autocast, against
10.9, 27.8 and 6.2 ms in float32 (outputs agree to 1 %: landmark error 0.4 %). faceres costs
40-60 ms at 128-160 px in either precision, which over 90k images alone is an hour or more, so it is
not run here: the attributes it labelled (age, ethnicity) come from label.py's pixel CNN.
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from face_nets import Emotion, FaceDetector, FaceMesh, face_box  # noqa: E402

SETS = {"utkface": "utk", "celebahq": "cel", "fairface": "ff"}
CHUNK = 2048


def decoded(datasets, name, out):
    """All images of one set as uint8 N x 128 x 128 x 3, in labels.csv order (cached)."""
    path = os.path.join(out, f"{SETS[name]}128.npy")
    if not os.path.exists(path):
        folder = os.path.join(datasets, name)
        with open(os.path.join(folder, "labels.csv")) as f:
            files = [r["file"] for r in csv.DictReader(f)]
        arr = np.empty((len(files), 128, 128, 3), np.uint8)
        for i, file in enumerate(files):
            arr[i] = np.asarray(Image.open(os.path.join(folder, "images", file)).convert("RGB").resize((128, 128)))
        np.save(path + ".tmp.npy", arr)
        os.replace(path + ".tmp.npy", path)
    return np.load(path, mmap_mode="r")


@torch.no_grad()
def analyse(x, nets):
    det, mesh_net, emo = nets
    with torch.autocast("cpu", dtype=torch.bfloat16):
        found = det.detect(x)
    n = len(x)
    n_faces = np.array([len(s) for s, _, _ in found], np.int16)
    scores = np.zeros((n, 3), np.float32)
    second = np.zeros(n, np.float32)
    # Without a detection the whole frame stands in for the box; FaceMesh's score then says
    # whether there is a face at all.
    box = torch.tensor([[0.0, 0.0, x.shape[2], x.shape[1]]]).repeat(n, 1)
    for i, (s, b, _) in enumerate(found):
        scores[i, :min(3, len(s))] = s[:3].numpy()
        if len(s):
            box[i] = b[0]
        if len(s) > 1:
            second[i] = float((b[1, 2] - b[1, 0]) / (b[0, 2] - b[0, 0]).clamp(min=1e-3))
    crop = face_box(box)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mesh, mesh_score = mesh_net(x, crop)
        emotion = emo(x, crop)
    return dict(n_faces=n_faces, scores=scores, box=box.numpy(), second=second,
                mesh=mesh.float().numpy().astype(np.float16), mesh_score=mesh_score.float().numpy(),
                emotion=emotion.float().numpy())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--out", default="runs/labels")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reverse", action="store_true", help="chunks from the last: a second process on the same set "
                    "meets the first in the middle")
    ap.add_argument("--sets", default="fairface,utkface,celebahq",
                    help="comma list; two processes with one thread each on different sets beat one with two "
                         "threads on a busy 2-core machine")
    ap.add_argument("--decode-only", action="store_true", help="only cache the decoded 128 px images (what "
                    "train_upscaler.py reads), minutes instead of hours")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.decode_only:
        for name in args.sets.split(","):
            print(name, decoded(args.datasets, name, args.out).shape, flush=True)
        return
    torch.set_num_threads(args.threads)
    folder = os.path.join(args.out, "analysis")
    os.makedirs(folder, exist_ok=True)
    nets = (FaceDetector().eval(), FaceMesh().eval(), Emotion().eval())
    for name in args.sets.split(","):
        images = decoded(args.datasets, name, args.out)
        chunks = list(enumerate(range(0, len(images), CHUNK)))
        for c, start in reversed(chunks) if args.reverse else chunks:
            path = os.path.join(folder, f"{name}-{c:03d}.npz")
            if os.path.exists(path):
                continue
            t0 = time.time()
            parts = []
            for i in range(start, min(start + CHUNK, len(images)), args.batch):
                x = torch.from_numpy(np.array(images[i:min(i + args.batch, start + CHUNK)])).float() / 255
                parts.append(analyse(x, nets))
            np.savez(path + ".tmp.npz", **{k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
            os.replace(path + ".tmp.npz", path)
            done = min(start + CHUNK, len(images))
            print(f"{name} {done}/{len(images)} ({(time.time() - t0) / (done - start) * 1000:.0f} ms/image)", flush=True)


if __name__ == "__main__":
    main()
