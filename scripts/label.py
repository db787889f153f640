"""Build one label file covering every API attribute for UTKFace and CelebA-HQ.

    /usr/bin/python3 scripts/label.py --utkface ../shared/datasets/utkface \
        --celebahq ../shared/datasets/celebahq --out runs/labels

Writes <out>/labels.csv (one row per image, every attribute), <out>/images64.npy
(the training images, 64 px, uint8, same row order) and <out>/labellers.json (held-out
accuracy of the cross-set labellers). Rerunnable: the decoded images are cached.

Where a set lacks a label, a small CNN trained on the other set provides it:
UTKFace -> CelebA-HQ: age, ethnicity group; CelebA-HQ -> UTKFace: eyeglasses, facial
hair, smiling, hair length. Skin tone, lighting, sunglasses and yaw are measured from
pixels in a common tight-crop frame.
"""
import argparse
import csv
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402
from model import AttributeNet  # noqa: E402


def load_images(folder, files, cache):
    if os.path.exists(cache):
        return np.load(cache)
    out = np.empty((len(files), 128, 128, 3), np.uint8)
    for i, f in enumerate(files):
        out[i] = np.asarray(Image.open(os.path.join(folder, "images", f)).convert("RGB").resize((128, 128)))
        if i % 5000 == 0:
            print(f"  decoded {i}/{len(files)}", flush=True)
    np.save(cache, out)
    return out


def face_crops(images, source, size=64):
    """Bring images into the tight-crop frame, size x size, float [0,1], NCHW."""
    top, left, s = C.FACE_BOX[source]
    t = torch.from_numpy(images[:, top:top + s, left:left + s]).permute(0, 3, 1, 2).float() / 255
    out = []
    for i in range(0, len(t), 2048):
        out.append(F.interpolate(t[i:i + 2048], size=(size, size), mode="area"))
    return torch.cat(out)


def srgb_to_lab(rgb):
    """rgb: (..., 3) in [0,1] -> CIE L*a*b* (D65)."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], -1)


def measure(crops):
    """Pixel measurements on 64 px tight crops (N,3,64,64 in [0,1])."""
    x = crops.permute(0, 2, 3, 1).numpy()
    lab = srgb_to_lab(x)
    # Cheeks: below the eyes, beside the nose, in the tight-crop frame.
    cheeks = np.concatenate([lab[:, 36:46, 12:22].reshape(len(x), -1, 3),
                             lab[:, 36:46, 42:52].reshape(len(x), -1, 3)], 1)
    L = np.median(cheeks[..., 0], 1)
    b = np.median(cheeks[..., 2], 1)
    ita = np.degrees(np.arctan2(L - 50, np.maximum(b, 1e-3)))
    # ITA 60 (very light) .. -30 (dark) onto 0..10, higher = darker.
    skintone = np.clip((60 - ita) / 90 * 10, 0, 10)

    face = lab[:, 8:58, 10:54, 0]
    contrast = face.std((1, 2))
    left, right = face[:, :, :22].mean((1, 2)), face[:, :, 22:].mean((1, 2))
    direction = np.abs(left - right) / np.maximum(face.mean((1, 2)), 1)

    eyes = lab[:, 20:30, 12:52, 0].mean((1, 2))

    # Yaw proxy: horizontal offset of skin-coloured mass. A turned head shows more of
    # one cheek and background on the other side; flips negate it exactly.
    ref = np.median(cheeks, 1)[:, None, None, :]
    dist = np.sqrt(((lab[:, 10:56] - ref) ** 2).sum(-1))
    skin = (dist < 14).astype(np.float64)
    xs = np.arange(64)[None, None, :] - 31.5
    offset = (skin * xs).sum((1, 2)) / np.maximum(skin.sum((1, 2)), 1)
    return dict(skintone=skintone, contrast=contrast, direction=direction, eye_l=eyes, yaw_proxy=offset)


def jitter(xb, g):
    """Photometric jitter and flips. The two sets differ in exposure, colour and quality; without
    this a labeller learns e.g. "dark picture" as a cue for ethnicity and transfers badly."""
    n = len(xb)
    r = lambda lo, hi: lo + (hi - lo) * torch.rand(n, 1, 1, 1, generator=g)  # noqa: E731
    mean = xb.mean((1, 2, 3), keepdim=True)
    grey = xb.mean(1, keepdim=True)
    xb = grey + (xb - grey) * r(0.6, 1.4)
    xb = (xb - mean) * r(0.6, 1.4) + mean * r(0.6, 1.4)
    if torch.rand(1, generator=g).item() < 0.3:
        xb = F.avg_pool2d(F.pad(xb, (1, 1, 1, 1), mode="replicate"), 3, 1)
    flip = torch.rand(n, generator=g) < 0.5
    xb[flip] = xb[flip].flip(3)
    # Scale and position differ a little between the sets' crops: +-8 % and +-6 % of the side.
    theta = torch.zeros(n, 2, 3)
    scale = 1 + 0.08 * (2 * torch.rand(n, generator=g) - 1)
    theta[:, 0, 0], theta[:, 1, 1] = scale, scale
    theta[:, :, 2] = 0.12 * (2 * torch.rand(n, 2, generator=g) - 1)
    grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
    xb = F.grid_sample(xb, grid, padding_mode="border", align_corners=False)
    return xb.clamp(0, 1)


def train_labeller(x, loss_fn, n_out, epochs, name, seed=0):
    """Train on 90 %, return (model, held-out index)."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(x), generator=g)
    n_val = len(x) // 10
    val, tr = perm[:n_val], perm[n_val:]
    model = AttributeNet(n_out)
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    steps = epochs * (len(tr) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    step = 0
    for ep in range(epochs):
        model.train()
        order = tr[torch.randperm(len(tr), generator=g)]
        for i in range(0, len(order) - 63, 64):
            idx = order[i:i + 64]
            xb = jitter(x[idx], g)
            loss = loss_fn(model(xb), idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 100 == 0:
                print(f"  [{name}] epoch {ep + 1}/{epochs} step {step}/{steps} loss {loss.item():.3f}", flush=True)
    model.eval()
    return model, val


@torch.no_grad()
def predict(model, x):
    return torch.cat([model(x[i:i + 512]) for i in range(0, len(x), 512)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--utkface", required=True)
    ap.add_argument("--celebahq", required=True)
    ap.add_argument("--out", default="runs/labels")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)

    with open(os.path.join(args.utkface, "labels.csv")) as f:
        utk = list(csv.DictReader(f))
    with open(os.path.join(args.celebahq, "labels.csv")) as f:
        cel = list(csv.DictReader(f))
    print(f"UTKFace {len(utk)} images, CelebA-HQ {len(cel)} images", flush=True)
    utk_img = load_images(args.utkface, [r["file"] for r in utk], os.path.join(args.out, "utk128.npy"))
    cel_img = load_images(args.celebahq, [r["file"] for r in cel], os.path.join(args.out, "cel128.npy"))
    utk_x, cel_x = face_crops(utk_img, "utkface"), face_crops(cel_img, "celebahq")

    report = {}
    # --- UTKFace -> CelebA-HQ: age (log-years regression) and ethnicity group.
    u_age = torch.tensor([min(float(r["age"]), 100.0) for r in utk])
    u_eth = torch.tensor([C.ETHNICITY_GROUPS.index(r["race"]) for r in utk])

    def loss_a(out, idx):
        return F.smooth_l1_loss(out[:, 0], torch.log1p(u_age[idx])) * 4 + F.cross_entropy(out[:, 1:], u_eth[idx])

    # The labellers see 32 px crops: four times cheaper on CPU, and enough for these attributes.
    utk_s, cel_s = F.interpolate(utk_x, size=32, mode="area"), F.interpolate(cel_x, size=32, mode="area")
    model_a, val = train_labeller(utk_s, loss_a, 1 + len(C.ETHNICITY_GROUPS), args.epochs, "age+ethnicity")
    pv = predict(model_a, utk_s[val])
    report["age_from_utkface"] = {"held_out_mae_years": float((torch.expm1(pv[:, 0]) - u_age[val]).abs().mean()),
                                  "n": len(val)}
    report["ethnicity_from_utkface"] = {"held_out_accuracy": float((pv[:, 1:].argmax(1) == u_eth[val]).float().mean()),
                                        "n": len(val)}
    pc = predict(model_a, cel_s)
    cel_age = torch.expm1(pc[:, 0]).clamp(1, 100).numpy()
    cel_eth = F.softmax(pc[:, 1:], 1).numpy()
    # CelebA-HQ has no ages, but it does say who is young: the labeller should agree.
    young = np.array([r["Young"] == "1" for r in cel])
    report["age_on_celebahq"] = {"median_years_young": float(np.median(cel_age[young])),
                                 "median_years_not_young": float(np.median(cel_age[~young])),
                                 "share_under_15": float((cel_age < 15).mean())}

    # --- CelebA-HQ -> UTKFace: eyeglasses, beard, smiling, bald, and two scores.
    col = lambda name: torch.tensor([float(r[name]) for r in cel])  # noqa: E731
    male, glasses, smile = col("Male"), col("Eyeglasses"), col("Smiling")
    bald, receding = col("Bald"), col("Receding_Hairline")
    facial = (3 * col("5_o_Clock_Shadow") + 5 * (1 - col("No_Beard")) + 1.5 * col("Goatee")
              + 1.5 * col("Mustache") + col("Sideburns")).clamp(0, 10) * male
    # Hair length: bald/receding from labels, long hair measured as hair-coloured pixels
    # beside the neck (the portrait frame shows the shoulders).
    hair_ref = cel_img[:, 4:14, 44:84].reshape(len(cel), -1, 3).astype(np.float32).mean(1)
    sides = np.concatenate([cel_img[:, 80:124, 2:26], cel_img[:, 80:124, 102:126]], 2).astype(np.float32)
    near = (np.sqrt(((sides - hair_ref[:, None, None, :]) ** 2).sum(-1)) < 40).mean((1, 2))
    hair = torch.from_numpy(np.clip(2 + 10 * near, 0, 10)).float()
    hair = torch.where(male > 0, hair.clamp(max=6), hair)
    hair = torch.where(receding > 0, hair.clamp(max=3), hair)
    hair = torch.where(bald > 0, torch.zeros_like(hair), hair)
    bin_targets = torch.stack([male, glasses, smile, bald], 1)
    reg_targets = torch.stack([facial / 10, hair / 10], 1)

    def loss_b(out, idx):
        return (F.binary_cross_entropy_with_logits(out[:, :4], bin_targets[idx])
                + 4 * F.mse_loss(torch.sigmoid(out[:, 4:]), reg_targets[idx]))

    model_b, val = train_labeller(cel_s, loss_b, 6, args.epochs, "glasses+beard+smile")
    pv = predict(model_b, cel_s[val])
    acc = ((pv[:, :4] > 0).float() == bin_targets[val]).float().mean(0)
    mae = (torch.sigmoid(pv[:, 4:]) * 10 - reg_targets[val] * 10).abs().mean(0)
    report["from_celebahq"] = {"held_out_accuracy": {"male": float(acc[0]), "eyeglasses": float(acc[1]),
                                                     "smiling": float(acc[2]), "bald": float(acc[3])},
                               "held_out_mae_0_10": {"facial_hair": float(mae[0]), "hair_length": float(mae[1])},
                               "n": len(val)}
    pu = predict(model_b, utk_s)
    utk_bin = torch.sigmoid(pu[:, :4]).numpy()
    utk_reg = (torch.sigmoid(pu[:, 4:]) * 10).numpy()
    # Check the UTKFace labeller on the gender that UTKFace does label.
    u_male = np.array([r["gender"] == "male" for r in utk])
    report["from_celebahq"]["cross_set_gender_accuracy_on_utkface"] = float(((utk_bin[:, 0] > 0.5) == u_male).mean())

    # --- Pixel measurements in the common frame.
    mu, mc = measure(utk_x), measure(cel_x)
    allm = {k: np.concatenate([mu[k], mc[k]]) for k in mu}
    c_hi, d_hi, d_mid = np.quantile(allm["contrast"], 0.85), np.quantile(allm["direction"], 0.9), np.quantile(allm["direction"], 0.6)
    yaw_scale = 45 / max(np.quantile(np.abs(allm["yaw_proxy"]), 0.95), 1e-3)

    def lighting(m, i):
        if m["contrast"][i] > c_hi or m["direction"][i] > d_hi:
            return "artistic"
        return "natural" if m["direction"][i] > d_mid else "studio"

    dark_eyes = np.quantile(allm["eye_l"], 0.03)
    rows = []
    for i, r in enumerate(utk):
        glasses_p = utk_bin[i, 1]
        eyewear = "none" if glasses_p < 0.5 else ("sunglasses" if mu["eye_l"][i] < dark_eyes else "eyeglasses")
        age = float(r["age"])
        is_male = r["gender"] == "male"
        rows.append(dict(source="utkface", file=r["file"], gender="male" if is_male else "female", age=age,
                         ethnicity=r["race"], skintone=mu["skintone"][i], eyewear=eyewear,
                         facial_hair=utk_reg[i, 0] if is_male and age >= 14 else 0.0,
                         hair_length=utk_reg[i, 1], lighting=lighting(mu, i), zoom="closeup",
                         mood="happy" if utk_bin[i, 2] > 0.5 else "neutral",
                         yaw=float(np.clip(mu["yaw_proxy"][i] * yaw_scale, -60, 60))))
    for i, r in enumerate(cel):
        eyewear = "none" if r["Eyeglasses"] == "0" else ("sunglasses" if mc["eye_l"][i] < dark_eyes else "eyeglasses")
        rows.append(dict(source="celebahq", file=r["file"], gender="male" if r["Male"] == "1" else "female",
                         age=float(cel_age[i]), ethnicity=C.ETHNICITY_GROUPS[int(cel_eth[i].argmax())],
                         skintone=mc["skintone"][i], eyewear=eyewear, facial_hair=float(facial[i]),
                         hair_length=float(hair[i]), lighting=lighting(mc, i), zoom="standard",
                         mood="happy" if r["Smiling"] == "1" else "neutral",
                         yaw=float(np.clip(mc["yaw_proxy"][i] * yaw_scale, -60, 60))))

    with open(os.path.join(args.out, "labels.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.3f}" if isinstance(v, (float, np.floating)) else v) for k, v in r.items()})

    # Training images: both sets in their own framing, 64 px.
    imgs = []
    for arr in (utk_img, cel_img):
        t = torch.from_numpy(arr).permute(0, 3, 1, 2).float()
        for i in range(0, len(t), 2048):
            imgs.append(F.interpolate(t[i:i + 2048], size=(C.RESOLUTION, C.RESOLUTION), mode="area").round().byte())
    np.save(os.path.join(args.out, f"images{C.RESOLUTION}.npy"), torch.cat(imgs).permute(0, 2, 3, 1).numpy())

    stats = {k: {} for k in ("gender", "ethnicity", "eyewear", "lighting", "mood", "zoom")}
    for r in rows:
        for k in stats:
            stats[k][r[k]] = stats[k].get(r[k], 0) + 1
    report["label_counts"] = stats
    report["yaw_scale_deg_per_px"] = float(yaw_scale)
    with open(os.path.join(args.out, "labellers.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
