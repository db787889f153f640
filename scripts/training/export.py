"""Export the EMA generator to ONNX with its manifest, priors and a parity reference.

    /usr/bin/python3 scripts/training/export.py --run runs/train --labels runs/labels --out models/facestudio-v2 \
        [--checkpoint runs/gpu/snapshot-end.npz | models/facestudio-v2/training/G_ema.npz]

Writes generator.onnx (opset 17), manifest.json (inputs, condition layout, native
resolution, version, training data, licence, attribute priors measured on the labels)
and reference.json (a few z, c with PyTorch's output, which the server's tests compare
against onnxruntime's).
"""
import argparse
import base64
import csv
import datetime
import gzip
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402
from model import Generator  # noqa: E402
from condition import encode_condition  # noqa: E402
from train import HALF_SUFFIX, export_weights  # noqa: E402

HALF_VERSION_TAG = "-f16"



def halve_initializers(onnx_path):
    """Stores every float32 weight of the graph as float16 followed by a Cast back to float32.
    The file halves (what a GPU call can carry is 64 MiB, tree included); onnxruntime folds the
    casts when it loads the session, so inference runs in float32 at the same speed, and the
    images differ from the float32 export only by the weights' rounding. Returns whether no
    weight changed (true of weights that were trained or snapshotted in float16)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    model = onnx.load(onnx_path)
    graph = model.graph
    keep, casts, lossless = [], [], True
    for t in graph.initializer:
        if t.data_type != TensorProto.FLOAT:
            keep.append(t)
            continue
        full = numpy_helper.to_array(t)
        lossless = lossless and bool((full.astype(np.float16).astype(np.float32) == full).all())
        half = numpy_helper.from_array(full.astype(np.float16), t.name + HALF_SUFFIX)
        keep.append(half)
        casts.append(helper.make_node("Cast", [half.name], [t.name], to=TensorProto.FLOAT, name="cast_" + t.name))
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, onnx_path)
    return lossless


def generator_from_onnx(onnx_path, cond_dim):
    """G with the weights an export holds."""
    weights = export_weights(onnx_path)
    G = Generator(C.LATENT_DIM, cond_dim, C.G_CH)
    G.load_state_dict({k: weights[k] for k in G.state_dict()})
    return G.eval()


def write_reference(G, rows_or_conds, version, out):
    """Parity reference: fixed z and real label conditions, PyTorch's output."""
    g = torch.Generator().manual_seed(99)
    ref = []
    enc = lambda a: base64.b64encode(a.astype(np.float32).tobytes()).decode()  # noqa: E731
    with torch.no_grad():
        for ci in rows_or_conds:
            zi = torch.randn(1, C.LATENT_DIM, generator=g)
            ci = torch.from_numpy(np.array(ci, np.float32))[None]
            ref.append({"z": enc(zi.numpy()), "c": enc(ci.numpy()), "image": enc(G(zi, ci).numpy())})
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"version": version, "cases": ref}, f)


def halve_export(folder):
    """Converts an existing export in place to float16 weights. Where that rounds any weight,
    served bytes may change, so the version changes too (ETags and caches must not mix them)."""
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(folder, "reference.json")) as f:
        old_cases = json.load(f)["cases"]
    onnx_path = os.path.join(folder, manifest["file"])
    if not halve_initializers(onnx_path):
        manifest["version"] += HALF_VERSION_TAG
    manifest["weights"] = "float16"
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    conds = [np.frombuffer(base64.b64decode(c["c"]), np.float32) for c in old_cases]
    write_reference(generator_from_onnx(onnx_path, manifest["condition_dim"]), conds, manifest["version"], folder)
    print(f"{onnx_path}: float16 weights, version {manifest['version']}")


def export_upscaler(checkpoint, folder):
    """The learned upscaler as <folder>/upscaler.onnx (float16 weights) and its entry in the
    manifest. It reads the generator's raw output (N x 3 x 64 x 64 in [-1, 1]) and returns
    N x 3 x 128 x 128 in the same range; its version joins the model's in X-Model-Version."""
    from model import LEGACY_UPSCALER_ARCH, Upscaler
    ck = torch.load(checkpoint, map_location="cpu")
    arch = ck.get("arch", LEGACY_UPSCALER_ARCH)
    net = Upscaler(**arch)
    net.load_state_dict(ck["net"])
    net = net.for_export().eval()
    path = os.path.join(folder, "upscaler.onnx")
    torch.onnx.export(net, torch.zeros(1, 3, C.RESOLUTION, C.RESOLUTION), path, input_names=["x"], output_names=["y"],
                      # Spatial axes stay symbolic (the net is fully convolutional): a natively
                      # larger generator is upscaled from its own size without a re-export.
                      dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}, "y": {0: "batch", 2: "height2", 3: "width2"}},
                      opset_version=17, do_constant_folding=True)
    halve_initializers(path)
    # A run started with --init continues a shipped upscaler: the version counts all its training.
    before = ck.get("before", {"steps": 0, "patches": 0, "minutes": 0.0})
    steps = before["steps"] + int(ck["step"])
    patches = before["patches"] + int(ck["step"]) * ck.get("batch", 32)
    minutes = round(before["minutes"] + ck["seconds"] / 60, 1)
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    # A continued run extends the shipped entry's account of its data and compute by this round.
    this_round = (f"{int(ck['step']):,} steps with inputs degraded like the generator's output (blur, area or bicubic "
                  "resampling, a mild unsharp mask; rare noise and JPEG)"
                  + (", one activation slope per layer" if arch.get("slopes") == "layer" else ""))
    this_compute = f"2 CPU cores ({cpu_name()}), {ck['seconds'] / 60:.0f} minutes"
    prior = manifest.get("upscaler", {}).get("training", {})
    if before["steps"] and prior.get("steps") == before["steps"]:
        data, compute = f"{prior['data']}; then {this_round}", f"{prior['compute']}; then {this_compute}"
    else:
        data, compute = f"real 128 px faces of UTKFace and CelebA-HQ; {this_round}", this_compute
    manifest["upscaler"] = {
        "file": "upscaler.onnx", "version": f"up2x-{arch['channels']}c{arch['body']}{'-leaky' if arch.get('slopes') == 'layer' else ''}+{patches // 1000}kpatches", "scale": 2,
        "input": "x", "output": "y", "range": [-1, 1], "architecture": arch,
        "training": {"steps": steps, "patches": patches, "minutes": minutes, "data": data, "compute": compute},
    }
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(f"exported the upscaler ({manifest['upscaler']['version']}) to {path}")


def cpu_name():
    """The CPU's brand as /proc/cpuinfo names it (e.g. "Intel(R) Xeon(R) Processor"), for the record."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def priors_from_labels(rows):
    """What the server draws for attributes a caller leaves open, measured on the labels."""
    def mean_sd(vals):
        a = np.array(vals, dtype=np.float64)
        return {"mean": round(float(a.mean()), 3), "sd": round(float(a.std()), 3)}

    def rates(key, values):
        counts = {v: sum(1 for r in rows if r[key] == v) for v in values}
        total = max(1, sum(counts.values()))
        return {v: round(counts[v] / total, 4) for v in values}

    lo, hi = C.SKINTONE_RANGE
    levels = np.linspace(lo, hi, 19)

    def tone_quantiles(ethnicity):
        tones = np.array([float(r["skintone"]) for r in rows if r["ethnicity"] == ethnicity])
        return {"range": [lo, hi], "quantiles": [round(float(q), 3) for q in np.quantile(tones, levels)]}

    adult_men = [r for r in rows if r["gender"] == "male" and float(r["age"]) >= 16]
    return {
        "ethnicity_map": {e: e for e in C.ETHNICITIES},
        "skintone_by_ethnicity": {e: tone_quantiles(e) for e in C.ETHNICITIES},
        "hair_length_by_gender": {g: mean_sd([float(r["hair_length"]) for r in rows if r["gender"] == g])
                                  for g in ("male", "female")},
        "facial_hair": {"adult_male_rate": round(sum(float(r["facial_hair"]) >= 2 for r in adult_men)
                                                 / max(1, len(adult_men)), 4)},
        "eyewear": rates("eyewear", C.EYEWEAR),
        "lighting": rates("lighting", C.LIGHTING),
        "mood": rates("mood", C.MOODS),
        "yaw_sd": 8.0,
    }


def condition_layout():
    layout, offset = [], 0
    values = {"ethnicity": C.ETHNICITIES, "eyewear": C.EYEWEAR, "lighting": C.LIGHTING, "mood": C.MOODS}
    for name, size, meaning in C.CONDITION_LAYOUT:
        slot = {"name": name, "offset": offset, "size": size, "meaning": meaning}
        if name in values:
            slot["values"] = values[name]
        layout.append(slot)
        offset += size
    return layout


def build_manifest(rows, labellers, shown, steps, compute):
    counts = labellers.get("training_images", {})
    return {
        "name": C.MODEL_NAME,
        "version": f"{C.MODEL_NAME}+{shown // 1000}kimg",
        "file": "generator.onnx",
        "opset": 17,
        "resolution": C.RESOLUTION,
        "latent_dim": C.LATENT_DIM,
        "inputs": {"latent": "z", "condition": "c"},
        "output": {"name": "image", "layout": "NCHW RGB", "range": [-1, 1]},
        "condition": condition_layout(),
        "condition_dim": C.COND_DIM,
        "priors": priors_from_labels(rows),
        "training": {
            "images_shown": int(shown),
            "steps": int(steps),
            "compute": compute,
            "exported": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": [f"UTKFace (aligned & cropped, {counts.get('utkface', '?')} images)",
                     f"CelebA-HQ ({counts.get('celebahq', '?')} images, CelebAMask-HQ attributes)",
                     f"FairFace (aligned and filtered, {counts.get('fairface', '?')} images of its train split)"],
            "labellers": labellers,
        },
        "weights": "float16",
        "licence": "Weights derived from UTKFace and CelebA-HQ (non-commercial research and educational use "
                   "only) and FairFace (CC BY 4.0): non-commercial use only.",
    }


def read_labels(folder):
    """label.py's rows from its output folder, or from a committed labelling (labels.csv.gz)."""
    plain = os.path.join(folder, "labels.csv")
    with (open(plain) if os.path.exists(plain) else gzip.open(plain + ".gz", "rt")) as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/train")
    ap.add_argument("--labels", default="runs/labels")
    ap.add_argument("--checkpoint", help="a training snapshot (default: <run>/ckpt.pt)")
    ap.add_argument("--out", default=f"models/{C.MODEL_NAME}")
    ap.add_argument("--halve", metavar="MODEL_DIR", help="only convert an existing export to float16 weights")
    ap.add_argument("--manifest-only", action="store_true", help="write only manifest.json (layout and priors)")
    ap.add_argument("--compute", default="", help="what trained the weights, for the manifest (e.g. '2 CPU cores, 5 h')")
    ap.add_argument("--upscaler", metavar="CHECKPOINT", help="only add the learned upscaler (train_upscaler.py's ckpt.pt) to --out")
    ap.add_argument("--upscaler-from", metavar="MODEL_DIR",
                    help="with a generator export: reuse this shipped model's upscaler.onnx and its manifest entry")
    args = ap.parse_args()
    if args.halve:
        return halve_export(args.halve)
    if args.upscaler:
        return export_upscaler(args.upscaler, args.out)
    os.makedirs(args.out, exist_ok=True)

    rows = read_labels(args.labels)
    with open(os.path.join(args.labels, "labellers.json")) as f:
        labellers = json.load(f)
    if args.manifest_only:  # the layout and priors alone (the server's test fixture)
        with open(os.path.join(args.out, "manifest.json"), "w") as f:
            json.dump(build_manifest(rows, labellers, 0, 0, "none: layout and priors only"), f, indent=2)
        return

    if args.checkpoint:  # float16 arrays: a snapshot (train.py --snapshots) or a state's G_ema.npz (--state-out)
        snap = np.load(args.checkpoint)
        meta = "meta_" if "meta_step" in snap.files else ""
        ck = {"G_ema": {k: torch.from_numpy(snap[k]) for k in snap.files if k not in ("step", "shown") and not k.startswith("meta_")},
              "step": int(snap[meta + "step"]), "shown": int(snap[meta + "shown"])}
    else:
        ck = torch.load(os.path.join(args.run, "ckpt.pt"), map_location="cpu")
    G = Generator(C.LATENT_DIM, C.COND_DIM, C.G_CH)
    G.load_state_dict({k: v.float() for k, v in ck["G_ema"].items()})
    G.eval()

    z = torch.randn(1, C.LATENT_DIM)
    c = torch.zeros(1, C.COND_DIM)
    onnx_path = os.path.join(args.out, "generator.onnx")
    torch.onnx.export(G, (z, c), onnx_path, input_names=["z", "c"], output_names=["image"],
                      dynamic_axes={"z": {0: "batch"}, "c": {0: "batch"}, "image": {0: "batch"}},
                      opset_version=17, do_constant_folding=True)

    manifest = build_manifest(rows, labellers, int(ck["shown"]), int(ck["step"]), args.compute)
    version = manifest["version"]
    if args.upscaler_from:
        # The upscaler learns the 64 -> 128 px step from photos (degraded to look like v1's output),
        # so a new generator serves through the shipped one until fit_degradation.py and
        # train_upscaler.py have been rerun on its faces.
        with open(os.path.join(args.upscaler_from, "manifest.json")) as f:
            manifest["upscaler"] = json.load(f)["upscaler"]
        shutil.copyfile(os.path.join(args.upscaler_from, manifest["upscaler"]["file"]),
                        os.path.join(args.out, manifest["upscaler"]["file"]))
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)

    halve_initializers(onnx_path)
    # The reference comes from the weights that ship.
    write_reference(generator_from_onnx(onnx_path, C.COND_DIM), [encode_condition(rows[i]) for i in (0, 30000)], version, args.out)
    print(f"exported {version} to {args.out}")


if __name__ == "__main__":
    main()
