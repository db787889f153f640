"""Train the conditional face generator (v2).

    python3 scripts/training/train.py --pack runs/pack --run runs/train --minutes 7.5 --init-from models/facestudio-v1   (GPU)
    /usr/bin/python3 scripts/training/train.py --labels runs/labels --run runs/finetune --teacher models/facestudio-v1 \
        --init-from models/facestudio-v1 --minutes 300                                                   (CPU)

Data: a pack from scripts/training/pack.py, or label.py's output folder directly. Resumes from
<run>/ckpt.pt when it exists; without one, --init-from models/<name> starts G from an export
(its ONNX initialisers are G's state dict; an older condition layout is mapped onto this one,
so G starts out drawing exactly what the export draws).

Two recipes share every loss but the one that keeps faces real:
- adversarial (the GPU recipe): D(x, c) with a projection term and an auxiliary attribute
  regression on reals, non-saturating loss, DiffAugment, lazy R1; with --init-from a fresh D
  first trains alone for D_WARMUP_KIMG.
- --teacher (the CPU recipe): no D. A frozen copy of a shipped generator anchors every face to
  what it draws for the same z and attributes (L1 at 16 px, where layout and colour live, and
  lightly at 64 px), so the losses below can change expression, pose and identity without the
  faces drifting away from realism. A D costs twice G's compute and needs a warm-up that a CPU
  session cannot afford.
Both: the frozen attribute critic C(x) (trained first on the data) pulls G's reading toward c;
human-models' expression net pulls toward the requested mood; a face-recognition descriptor
(face_nets.MobileFaceIdentity) keeps one z under other non-identity attributes closer to itself
than another z under the same attributes (a triplet whose margin shrinks with the age gap); the hair's colour
may grey with age but not change hue. Fakes get the condition vectors of real people, and
horizontal flips negate yaw. G is exported from its moving average. Stops at --kimg images or
after --minutes; --snapshots DIR receives the EMA generator (float16) and a sample grid at half,
three quarters and the end of the time.
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402
from condition import VALUES, encode_condition, slot_offset  # noqa: E402
from model import AttributeNet, Discriminator, Generator  # noqa: E402
from pack import read_pack  # noqa: E402


HALF_SUFFIX = ".f16"  # export.py stores weights as float16 initialisers named <weight>.f16


def export_weights(onnx_path):
    """An export's ONNX initialisers as float32 tensors, named as in G's state dict."""
    import onnx
    from onnx import numpy_helper
    return {t.name.removesuffix(HALF_SUFFIX): torch.from_numpy(numpy_helper.to_array(t).astype(np.float32))
            for t in onnx.load(onnx_path).graph.initializer}


def layout_map(manifest):
    """Matrix M (old dim x COND_DIM) with c_old = M c for an export's condition layout: slots
    are matched by name and values; an API ethnicity goes to the old group the export's manifest
    mapped it to; slots the old layout lacks are dropped."""
    M = torch.zeros(manifest["condition_dim"], C.COND_DIM)
    old = {slot["name"]: slot for slot in manifest["condition"]}
    to_group = manifest["priors"]["ethnicity_map"]
    for name, size, _ in C.CONDITION_LAYOUT:
        new_off, slot = slot_offset(name), old.get(name)
        if slot is None:
            continue
        if size == 1:
            M[slot["offset"], new_off] = 1
            continue
        new_values = C.ETHNICITIES if name == "ethnicity" else VALUES[name]
        for k, value in enumerate(new_values):
            target = to_group[value] if name == "ethnicity" else value
            M[slot["offset"] + slot["values"].index(target), new_off + k] = 1
    return M


def load_export(folder, G):
    """G's weights from an export, its condition embedding carried over to this layout (so G
    draws what the export draws); returns the images it had been shown and the layout map."""
    import json
    weights = export_weights(os.path.join(folder, "generator.onnx"))
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    M = layout_map(manifest)
    weights["embed_c.0.weight"] = weights["embed_c.0.weight"] @ M
    G.load_state_dict({k: weights[k] for k in G.state_dict()})
    return int(manifest["training"]["images_shown"]), M


def load_teacher(folder, dev):
    """A frozen shipped generator and the map from this layout to its own."""
    import json
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    T = Generator(C.LATENT_DIM, manifest["condition_dim"], C.G_CH)
    weights = export_weights(os.path.join(folder, "generator.onnx"))
    T.load_state_dict({k: weights[k] for k in T.state_dict()})
    T.requires_grad_(False)
    return T.to(dev).eval(), layout_map(manifest).to(dev)


YAW_INDEX = slot_offset("yaw")
ZOOM_INDEX = slot_offset("zoom")
EYEWEAR_SLICE = slice(slot_offset("eyewear"), slot_offset("eyewear") + len(C.EYEWEAR))
# Per-component weight of the critic term, in condition order.
ATTR_COMPONENT_WEIGHTS = torch.tensor(
    [C.ATTR_FOCUS.get(name, C.ATTR_OTHERS) for name, size, _ in C.CONDITION_LAYOUT for _ in range(size)])


def load_data(args):
    """Training images (uint8, N x 3 x H x W) and condition vectors, from a pack or label.py's folder."""
    if args.pack:
        images, cond = read_pack(args.pack)
        cond = torch.from_numpy(cond)
    else:
        with open(os.path.join(args.labels, "labels.csv")) as f:
            cond = torch.tensor([encode_condition(r) for r in csv.DictReader(f)], dtype=torch.float32)
        images = np.load(os.path.join(args.labels, f"images{C.RESOLUTION}.npy"))
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), cond


def uniform(n, device, lo=0.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(n, 1, 1, 1, device=device)


def diff_augment(x):
    """Translation by up to 1/8 of the side (edge pixels repeated) and a cutout of 1/4 the side;
    differentiable, so D's real and fake inputs can be augmented alike (Zhao et al. 2020)."""
    n, ch, h, w = x.shape
    dev, shift = x.device, h // 8
    tx = torch.randint(-shift, shift + 1, (n, 1, 1), device=dev)
    ty = torch.randint(-shift, shift + 1, (n, 1, 1), device=dev)
    gy, gx = torch.meshgrid(torch.arange(h, device=dev), torch.arange(w, device=dev), indexing="ij")
    gx = (gx[None] + tx).clamp(0, w - 1)
    gy = (gy[None] + ty).clamp(0, h - 1)
    idx = (gy * w + gx).view(n, 1, -1).expand(-1, ch, -1)
    x = x.flatten(2).gather(2, idx).view_as(x)
    cs = h // 4
    cx = torch.randint(0, w, (n, 1, 1), device=dev)
    cy = torch.randint(0, h, (n, 1, 1), device=dev)
    keep = ((torch.arange(w, device=dev)[None, None, :] - cx).abs() > cs // 2) | \
           ((torch.arange(h, device=dev)[None, :, None] - cy).abs() > cs // 2)
    return x * keep[:, None].to(x.dtype)


def critic_view(x):
    """What the critic sees, x in [0, 1]: shifted by up to 4 px, exposure and contrast jittered,
    half of them blurred. The same views in its training and when it judges G, so it reads
    attributes from coarse structure and G cannot pass it with a pattern that works at one
    exact pixel position, exposure or sharpness."""
    n, dev = len(x), x.device
    mean = x.mean((1, 2, 3), keepdim=True)
    x = ((x - mean) * uniform(n, dev, 0.7, 1.3) + mean * uniform(n, dev, 0.8, 1.2)).clamp(0, 1)
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    x = torch.where(uniform(n, dev) < 0.5, blurred, x)
    dx, dy = torch.randint(-4, 5, (2,)).tolist()
    return critic_size(torch.roll(x, (dy, dx), (2, 3)))


def critic_size(x):
    """The critic reads CRITIC_SIZE px: a quarter of the work of 64 px, which on a CPU is the
    difference between minutes and an hour. Mood, the finest attribute, has its own critic."""
    return F.avg_pool2d(x, x.shape[-1] // C.CRITIC_SIZE) if x.shape[-1] > C.CRITIC_SIZE else x


def mirror_yaw(c, flip):
    """Conditions of the faces where flip is set mirrored left to right: yaw changes sign."""
    c = c.clone()
    c[:, YAW_INDEX] = torch.where(flip, -c[:, YAW_INDEX], c[:, YAW_INDEX])
    return c


def draw_weights(cond):
    """Per-row draw weights that give each DRAW_SHARE group its share of the draws (groups that
    overlap are adjusted one after the other, close enough for shares of a few per cent)."""
    groups = {"sunglasses": cond[:, EYEWEAR_SLICE][:, C.EYEWEAR.index("sunglasses")] > 0.5,
              "age_65_plus": cond[:, AGE_INDEX] * C.AGE_SCALE >= 65}
    w = torch.ones(len(cond), device=cond.device)
    for name, share in C.DRAW_SHARE.items():
        rows = groups[name]
        now = w[rows].sum() / w.sum()
        if 0 < now < 1:
            w[rows] *= share / (1 - share) * (1 - now) / now
    return w / w.sum()


def draw_rows(n, size, weights, device):
    """n row indices: uniform over size rows, or by weights."""
    if weights is None:
        return torch.randint(0, size, (n,), device=device)
    return torch.multinomial(weights, n, replacement=True)


def real_batch(images, cond, n, dev, pool=None, weights=None):
    """A random batch of reals in [-1, 1] with their conditions (from pool, if given; drawn by
    weights, one per row of pool or of images, if given), half of them mirrored."""
    idx = draw_rows(n, len(images) if pool is None else len(pool), weights, images.device)
    if pool is not None:
        idx = pool[idx]
    x = images[idx].to(dev).float().div(127.5).sub(1)
    flip = torch.rand(n, device=dev) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x, mirror_yaw(cond[idx].to(dev), flip)


def random_conditions(cond, n, dev, weights=None):
    """Real people's conditions for fakes (drawn by weights, if given), half of them mirrored as
    the reals are."""
    idx = draw_rows(n, len(cond), weights, cond.device)
    return mirror_yaw(cond[idx].to(dev), torch.rand(n, device=dev) < 0.5)


def train_critic(images, target, path, dev, batch):
    """The frozen attribute critic: standardised c from the image, 90/10 split."""
    critic = AttributeNet(target.shape[1]).to(dev)
    if os.path.exists(path):
        critic.load_state_dict(torch.load(path, map_location=dev))
        return critic.eval()
    perm = torch.randperm(len(images), device=images.device)
    n_val = len(images) // 10
    val, tr = perm[:n_val], perm[n_val:]
    opt = torch.optim.Adam(critic.parameters(), 2e-3)
    steps = C.CRITIC_EPOCHS * (len(tr) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    critic.train()
    for step in range(steps):
        x, y = real_batch(images, target, batch, dev, pool=tr)
        loss = (critic(critic_view((x + 1) / 2)) - y).pow(2).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0:
            print(f"critic step {step}/{steps} loss {loss.item():.3f}", flush=True)
    critic.eval()
    with torch.no_grad():
        pred = torch.cat([critic(critic_size(images[val[i:i + 512]].to(dev).float() / 255)) for i in range(0, n_val, 512)])
    err = (pred - target[val].to(dev)).pow(2).mean(0)
    print(f"critic held-out: sum of squared error {err.sum():.2f} over {len(err)} standardised components "
          f"(predicting the mean: {len(err)}); gender {err[0]:.3f}, age {err[1]:.3f}", flush=True)
    torch.save(critic.state_dict(), path)
    return critic


# Non-identity attributes: what may change while the person stays (issue "Generator v2").
NON_IDENTITY = ["age", "age_log", "eyewear", "facial_hair", "hair_length", "lighting", "zoom", "mood", "yaw"]
NON_IDENTITY_MASK = torch.tensor([name in NON_IDENTITY for name, size, _ in C.CONDITION_LAYOUT for _ in range(size)])
AGE_INDEX = slot_offset("age")
MOOD_SLICE = slice(slot_offset("mood"), slot_offset("mood") + len(C.MOODS))


def swap_non_identity(c, other):
    """c with every non-identity attribute taken from `other`: the same person, otherwise shown."""
    mask = NON_IDENTITY_MASK.to(c.device)
    return torch.where(mask, other, c)


def force_zoom(c, other, share):
    """other with, for `share` of the rows, a framing unlike c's."""
    rows = torch.rand(len(c), device=c.device) < share
    out = other.clone()
    out[:, ZOOM_INDEX] = torch.where(rows, 1 - c[:, ZOOM_INDEX], other[:, ZOOM_INDEX])
    return out


def face_crop_boxes(c):
    """face_nets' face crop (the detector box enlarged 1.4x) for each face's framing, in pixels
    of the 64 px output: where human-models' networks expect the face."""
    close = torch.tensor(C.FACE_CROP["closeup"], device=c.device) * C.RESOLUTION / 128
    std = torch.tensor(C.FACE_CROP["standard"], device=c.device) * C.RESOLUTION / 128
    return torch.where(c[:, ZOOM_INDEX:ZOOM_INDEX + 1] > 0.5, close, std)


def face_net_view(fakes, c):
    """G's faces (N x 3 x H x W in [-1, 1]) as the frozen face nets read them: N x H x W x 3 in
    [0, 1], half of them mirrored, with face_crop_boxes moved and scaled at random per face. Each
    generated face is then seen in a slightly different view, as a real photo would be: a pixel
    pattern that fools the nets in one exact crop (the dark line down the nose and the lines under
    the eyes of the 1,262 kimg faces) no longer pays, a face does."""
    x = (fakes.float() + 1).clamp(0, 2).permute(0, 2, 3, 1) / 2
    mirror = torch.rand(len(x), device=x.device) < 0.5
    x = torch.where(mirror[:, None, None, None], x.flip(2), x)
    box = face_crop_boxes(c)
    size = box[:, 2:3] - box[:, 0:1]
    centre = (box[:, :2] + box[:, 2:]) / 2 + (torch.rand_like(box[:, :2]) * 2 - 1) * C.FACE_NET_SHIFT * size
    centre[:, 0] = torch.where(mirror, x.shape[2] - 1 - centre[:, 0], centre[:, 0])
    half = size / 2 * (1 + (torch.rand_like(size) * 2 - 1) * C.FACE_NET_SCALE)
    return x, torch.cat([centre - half, centre + half], 1)


def identity_loss(identity, fakes, conds):
    """fakes/conds: [G(z, c), G(z, c'), G(z2, c)] with c' = swap_non_identity(c, ...): anchor,
    the same person otherwise shown, another person shown alike. Triplet on the cosines: the
    same person must be closer than the other by ID_MARGIN, relaxed over a 50-year age gap.
    Descriptors are centred on a moving mean of G's own faces, not of real ones: whatever all of
    G's faces share (a colour or style the real faces lack) moved every cosine toward 1 (two seeds
    0.50 -> 0.82 within 25 kimg while, centred on G's faces, they fell 0.53 -> 0.49)."""
    raw = [identity.descriptor(*face_net_view(x, c)) for x, c in zip(fakes, conds)]
    with torch.no_grad():
        identity.mean.lerp_(torch.cat(raw).float().mean(0), C.ID_MEAN_RATE)
    e = [identity.centre(r.float()) for r in raw]
    gap = (conds[0][:, AGE_INDEX] - conds[1][:, AGE_INDEX]).abs() * C.AGE_SCALE
    margin = C.ID_MARGIN - (C.ID_MARGIN - C.ID_MARGIN_AT_50_YEARS) * (gap / 50).clamp(max=1)
    same = (e[0] * e[1]).sum(1)
    different = (e[0] * e[2]).sum(1)
    return F.relu(different - same + margin).mean(), same.detach(), different.detach()


def mood_loss(emotion, fakes, conds):
    """Cross-entropy of the requested mood under human-models' expression net (disgust read as
    angry, fear as surprised, as the labels read them)."""
    p = emotion(*face_net_view(fakes, conds))
    five = torch.stack([p[:, 6], p[:, 3], p[:, 4], p[:, 0] + p[:, 1], p[:, 5] + p[:, 2]], 1)
    want = conds[:, MOOD_SLICE].argmax(1)
    return F.nll_loss(torch.log(five.clamp(min=1e-6)), want)


def hair_colour_loss(young, old, c_young, c_old):
    """Hair may grey with age, not change colour: in the hair band at the top of the frame, the
    older face's chroma (opponent colour, luminance removed) may shrink but not grow or turn."""
    def chroma(x, c):
        rows = torch.where(c[:, ZOOM_INDEX] > 0.5, 8, 14)  # tight crops show less hair
        mask = (torch.arange(x.shape[2], device=x.device)[None] < rows[:, None]).float()[:, None, :, None]
        band = (x.float() * mask).sum((2, 3)) / (mask.sum((2, 3)) * x.shape[3])
        rg = band[:, 0] - band[:, 1]
        yb = (band[:, 0] + band[:, 1]) / 2 - band[:, 2]
        return torch.stack([rg, yb], 1)
    a, b = chroma(young, c_young), chroma(old, c_old)
    older = (c_old[:, AGE_INDEX] > c_young[:, AGE_INDEX]).float()
    grow = F.relu(b.norm(dim=1) - a.norm(dim=1))
    turn = a.norm(dim=1) - (a * b).sum(1) / b.norm(dim=1).clamp(min=1e-3)
    return ((grow + turn) * older).mean()


@torch.no_grad()
def identity_mean(identity, images, cond, dev, n=512):
    """Mean identity descriptor of real faces (both framings): where identity_loss's moving mean
    of G's faces starts."""
    idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(3))[:n].to(images.device)
    x = images[idx].to(dev).float().div(255).permute(0, 2, 3, 1)
    return torch.cat([identity.descriptor(x[i:i + 64], face_crop_boxes(cond[idx[i:i + 64]].to(dev)))
                      for i in range(0, n, 64)]).mean(0)


def sample_grid(g_ema, path, z, conds):
    with torch.no_grad():
        rows = [g_ema(z, c.expand(len(z), -1)) for c in conds]
    img = torch.cat(rows, 0).clamp(-1, 1).add(1).mul(127.5).byte().cpu()
    n = len(z)
    grid = img.view(len(conds), n, 3, C.RESOLUTION, C.RESOLUTION).permute(0, 3, 1, 4, 2)
    grid = grid.reshape(len(conds) * C.RESOLUTION, n * C.RESOLUTION, 3).numpy()
    from PIL import Image
    Image.fromarray(grid).save(path)


def preview_conditions(cond):
    """Fixed rows for the sample grid: female/male at 8, 30, 55, 75, in both framings."""
    out = []
    for zoom in (0.0, 1.0):
        base = cond[(cond[:, 0] < 0.5) & (cond[:, ZOOM_INDEX] == zoom)][0].clone()
        for male in (0.0, 1.0):
            for age in (8, 30, 55, 75):
                c = base.clone()
                c[0], c[1] = male, age / C.AGE_SCALE
                out.append(c[None])
    return out


def save_snapshot(folder, name, g_ema, step, shown, fixed_z, previews):
    """The EMA generator in float16 (export reads it) and its sample grid."""
    # numpy's format, not torch.save: the GPU machine's PyTorch is newer than Debian's.
    state = {k: v.detach().half().cpu().numpy() for k, v in g_ema.state_dict().items()}
    np.savez(os.path.join(folder, f"{name}.npz"), step=step, shown=shown, **state)
    sample_grid(g_ema, os.path.join(folder, f"{name}.png"), fixed_z, previews)


def write_npz(path, module, **meta):
    """A state dict in float16 (integer buffers as they are), numpy's format: the GPU machine's
    PyTorch is newer than Debian's, and a pickle from one need not load in the other."""
    arrays = {k: (v.detach().half() if v.is_floating_point() else v.detach()).cpu().numpy()
              for k, v in module.state_dict().items()}
    np.savez(path + ".tmp.npz", **arrays, **{f"meta_{k}": np.array(v) for k, v in meta.items()})
    os.replace(path + ".tmp.npz", path)


def read_npz(path):
    with np.load(path) as f:
        return {k: torch.from_numpy(f[k].astype(np.float32) if f[k].dtype == np.float16 else f[k])
                for k in f.files if not k.startswith("meta_")}


def write_state(folder, G, G_ema, D, critic, step, shown, d_warmup_until):
    """The compact resumable state (what a session commits): G's moving average and D in
    float16, the frozen critic, and the counters. G itself is not kept: a resumed run restarts
    G from its average (a 12 MB saving, and the average is the better generator), and Adam's
    moments restart too (an optimiser state is twice the weights)."""
    os.makedirs(folder, exist_ok=True)
    write_npz(os.path.join(folder, "G_ema.npz"), G_ema, step=step, shown=shown, d_warmup_until=d_warmup_until)
    if D is not None:
        write_npz(os.path.join(folder, "D.npz"), D)
    write_npz(os.path.join(folder, "critic.npz"), critic)


def read_state(folder, G, G_ema, D, critic):
    """Loads write_state's folder; returns (step, shown, d_warmup_until)."""
    g = read_npz(os.path.join(folder, "G_ema.npz"))
    G.load_state_dict(g)
    G_ema.load_state_dict(g)
    d_path = os.path.join(folder, "D.npz")
    fresh_d = D is not None and not os.path.exists(d_path)
    if D is not None and not fresh_d:
        D.load_state_dict(read_npz(d_path))
    with np.load(os.path.join(folder, "G_ema.npz")) as f:
        step, shown = int(f["meta_step"]), int(f["meta_shown"])
    # A fresh D must learn the current G's faces before G follows it.
    return step, shown, (shown + C.D_WARMUP_KIMG * 1000 if fresh_d else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", help="training pack made by scripts/training/pack.py")
    ap.add_argument("--labels", default="runs/labels", help="label.py's output folder (when there is no pack)")
    ap.add_argument("--run", default="runs/train")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kimg", type=float, default=100000, help="stop after this many thousand images shown")
    ap.add_argument("--minutes", type=float, default=1e9, help="stop after this much training time")
    ap.add_argument("--snapshots", help="folder for EMA snapshots at 1/2, 3/4 and the end of --minutes")
    ap.add_argument("--batch", type=int, default=C.BATCH)
    ap.add_argument("--init-from", help="model folder (generator.onnx + manifest.json) to start G from; D starts fresh "
                    "unless --resume-from gives one")
    ap.add_argument("--teacher", help="model folder of a frozen generator that anchors G instead of a discriminator")
    ap.add_argument("--lr", type=float, default=C.LR_G)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--d-warmup-kimg", type=float, default=C.D_WARMUP_KIMG, help="with --init-from: D alone this long first")
    ap.add_argument("--id-batch", type=int, default=C.ID_BATCH, help="z per identity step (each drawn three times)")
    ap.add_argument("--id-every", type=int, default=C.ID_EVERY, help="identity, mood and hair terms every this many steps")
    ap.add_argument("--resume-from", help="compact state folder (write_state) to start from when the run has no ckpt.pt")
    ap.add_argument("--state-out", help="folder for the compact float16 state at every checkpoint and at the end")
    args = ap.parse_args()
    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    os.makedirs(os.path.join(args.run, "samples"), exist_ok=True)
    if args.snapshots:
        os.makedirs(args.snapshots, exist_ok=True)

    images, cond = load_data(args)
    images = images.to(dev)  # the faces at 64 px are under a GB: they live where training runs
    print(f"{len(images)} images, condition dim {cond.shape[1]}, device {dev}, "
          f"loaded in {time.time() - t_start:.0f} s", flush=True)
    c_mean, c_std = cond.mean(0).to(dev), cond.std(0).clamp(min=0.1).to(dev)
    standard = lambda c: (c - c_mean) / c_std  # noqa: E731
    cond = cond.to(dev)
    critic_path = os.path.join(args.run, "critic.pt")
    if args.resume_from and not os.path.exists(critic_path) and os.path.exists(os.path.join(args.resume_from, "critic.npz")):
        os.makedirs(args.run, exist_ok=True)
        torch.save(read_npz(os.path.join(args.resume_from, "critic.npz")), critic_path)
    critic = train_critic(images, standard(cond), critic_path, dev, max(64, args.batch))
    for p in critic.parameters():
        p.requires_grad_(False)

    from face_nets import Emotion, MobileFaceIdentity
    identity = MobileFaceIdentity().to(dev).eval()
    identity.mean.copy_(identity_mean(identity, images, cond, dev))
    emotion = Emotion().to(dev).eval()

    G = Generator(C.LATENT_DIM, C.COND_DIM, C.G_CH).to(dev)
    G_ema = Generator(C.LATENT_DIM, C.COND_DIM, C.G_CH).to(dev).eval()
    D = None if args.teacher else Discriminator(C.COND_DIM, C.D_CH, C.RESOLUTION).to(dev)
    teacher, to_teacher = load_teacher(args.teacher, dev) if args.teacher else (None, None)
    G_ema.load_state_dict(G.state_dict())
    for p in G_ema.parameters():
        p.requires_grad_(False)
    # bf16 autocast for the networks' forward passes (losses, R1, EMA and Adam stay float32):
    # on the GPU, and on these CPUs too, whose AVX-512 bf16 runs the convolutions about twice
    # as fast as float32 channels_last. Fused Adam where this PyTorch has it (GPU only).
    amp = lambda: torch.autocast(dev.type, dtype=torch.bfloat16)  # noqa: E731
    fused = {"fused": True} if dev.type == "cuda" and "fused" in torch.optim.Adam.__init__.__code__.co_varnames else {}
    opt_g = torch.optim.Adam(G.parameters(), args.lr, betas=C.BETAS, **fused)
    opt_d = torch.optim.Adam(D.parameters(), C.LR_D, betas=C.BETAS, **fused) if D else None
    step, shown, d_warmup_until = 0, 0, 0
    ckpt_path = os.path.join(args.run, "ckpt.pt")
    if not os.path.exists(ckpt_path) and args.resume_from:
        step, shown, d_warmup_until = read_state(args.resume_from, G, G_ema, D, critic)
        print(f"resumed from {args.resume_from} at step {step}, {shown / 1000:.1f} kimg "
              f"(Adam's moments start afresh: they are not kept)", flush=True)
    if not os.path.exists(ckpt_path) and args.init_from:
        # G starts from a shipped model. D, fresh or the state's (which knows the v2 labels' real
        # faces), first learns this G's fakes alone.
        shown, _ = load_export(args.init_from, G)
        G_ema.load_state_dict(G.state_dict())
        d_warmup_until = shown + int(args.d_warmup_kimg * 1000) if D else 0
        print(f"G from {args.init_from} ({shown / 1000:.1f} kimg); D "
              f"{'from the state' if args.resume_from else 'fresh'}, alone until {d_warmup_until / 1000:.1f} kimg", flush=True)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=dev)
        G.load_state_dict(ck["G"]), G_ema.load_state_dict(ck["G_ema"]), opt_g.load_state_dict(ck["opt_g"])
        if D:
            D.load_state_dict(ck["D"]), opt_d.load_state_dict(ck["opt_d"])
        step, shown, d_warmup_until = ck["step"], ck["shown"], ck.get("d_warmup_until", 0)
        print(f"resumed at step {step}, {shown / 1000:.1f} kimg", flush=True)
    if dev.type == "cpu":
        # channels_last is a third faster for these convolutions on the CPU.
        for net in (G, G_ema, teacher, D, critic):
            if net is not None:
                net.to(memory_format=torch.channels_last)
    print(f"G {sum(p.numel() for p in G.parameters()) / 1e6:.2f} M parameters"
          + (f", D {sum(p.numel() for p in D.parameters()) / 1e6:.2f} M" if D else f", teacher {args.teacher}"), flush=True)

    attr_w = ATTR_COMPONENT_WEIGHTS.to(dev)
    draw_w = draw_weights(cond)
    print("draw shares: " + ", ".join(f"{name} {share:.1%}" for name, share in C.DRAW_SHARE.items())
          + f"; identity pairs differing in framing forced for {C.ID_FORCE_ZOOM:.0%}", flush=True)
    fixed_z = torch.randn(8, C.LATENT_DIM, generator=torch.Generator().manual_seed(7)).to(dev)
    previews = [c.to(dev) for c in preview_conditions(cond.cpu())]
    ema_params = list(zip(G_ema.parameters(), G.parameters()))
    # Training time starts after loading and the critic: --minutes is time spent on G (and D).
    t0, shown0, deadline = time.time(), shown, time.time() + 60 * args.minutes
    marks = [(0.5, "snapshot-half"), (0.75, "snapshot-three-quarters")]
    zero = torch.zeros((), device=dev)
    loss_r1 = loss_adv = loss_attr = loss_d = loss_aux = loss_anchor = zero
    loss_id = loss_mood = loss_hair = zero
    cos_same = cos_div = zero
    d_real = d_fake = zero

    last = {"log": t0, "sample": t0, "checkpoint": t0}

    def finished():
        return shown >= args.kimg * 1000 or time.time() >= deadline

    while not finished():
        if D:
            # D: reals against fakes, projection on c, attribute regression on reals, lazy R1.
            real, c_real = real_batch(images, cond, args.batch, dev, weights=draw_w)
            c_fake = random_conditions(cond, args.batch, dev, draw_w)
            z = torch.randn(args.batch, C.LATENT_DIM, device=dev)
            r1 = step % C.R1_EVERY == 0
            with torch.no_grad(), amp():
                fake = G(z, c_fake)
            real_in = diff_augment(real).detach().requires_grad_(r1)
            with amp():
                d_real, aux_real = D(real_in, c_real)
                d_fake, _ = D(diff_augment(fake), c_fake)
            d_real, d_fake, aux_real = d_real.float(), d_fake.float(), aux_real.float()
            loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
            loss_aux = (aux_real - standard(c_real)).pow(2).mean()
            loss = loss_d + C.AUX_WEIGHT * loss_aux
            if r1:
                grad, = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
                loss_r1 = grad.pow(2).flatten(1).sum(1).mean()
                loss = loss + C.R1_GAMMA / 2 * loss_r1 * C.R1_EVERY
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()

        step += 1
        if shown + args.batch > d_warmup_until:  # with --init-from, a fresh D first learns the shipped G's faces alone
            # G: look real (D, or the teacher), show the critic the attributes asked for, and on
            # identity steps keep one z one person, different z different people, moods and hair.
            id_step = step % args.id_every == 0
            n = args.id_batch if id_step else args.batch
            c1 = random_conditions(cond, n, dev, draw_w)
            z1 = torch.randn(n, C.LATENT_DIM, device=dev)
            zs, cs = [z1], [c1]
            if id_step:
                other = force_zoom(c1, random_conditions(cond, n, dev, draw_w), C.ID_FORCE_ZOOM)
                cs.append(swap_non_identity(c1, other))
                zs.append(z1)
                cs.append(c1)
                zs.append(torch.randn(n, C.LATENT_DIM, device=dev))
            z_all, c_all = torch.cat(zs), torch.cat(cs)
            with amp():
                fake = G(z_all, c_all)
            fake = fake.float()
            if D:
                with amp():
                    d_fake, _ = D(diff_augment(fake), c_all)
                loss_adv = F.softplus(-d_fake.float()).mean()
            else:
                with torch.no_grad(), amp():
                    target = teacher(z_all, c_all @ to_teacher.T).float()
                loss_anchor = (C.TEACHER_WEIGHT * F.l1_loss(F.avg_pool2d(fake, 4), F.avg_pool2d(target, 4))
                               + C.TEACHER_FULL_WEIGHT * F.l1_loss(fake, target))
            framing_w = torch.where(c_all[:, ZOOM_INDEX] > 0.5, C.ATTR_CLOSEUP, 1.0)
            loss_attr = (((critic(critic_view((fake + 1) / 2)) - standard(c_all)).pow(2) * attr_w).sum(1)
                         * framing_w).mean()
            ramp = min(1.0, shown / (C.ATTR_RAMP_KIMG * 1000))
            loss_g = loss_adv + loss_anchor + ramp * C.ATTR_WEIGHT * loss_attr
            if id_step:
                parts = fake.split(n)
                loss_id, cos_same, cos_div = identity_loss(identity, parts, cs)
                loss_mood = mood_loss(emotion, fake, c_all)
                loss_hair = hair_colour_loss(parts[0], parts[1], cs[0], cs[1])
                id_ramp = min(1.0, max(0.0, shown / 1000 - C.ID_RAMP_KIMG[0]) / C.ID_RAMP_KIMG[1])
                loss_g = loss_g + args.id_every * id_ramp * (C.ID_WEIGHT * loss_id
                                                          + C.MOOD_WEIGHT * loss_mood + C.HAIR_WEIGHT * loss_hair)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            shown += len(z_all) if not D else 0

            # EMA with StyleGAN's ramp-up: early on the average must not lag behind a fast-moving G.
            halflife = min(C.EMA_HALFLIFE_KIMG * 1000, max(shown, 1) * 0.05)
            beta = 0.5 ** (len(z_all) / halflife)
            with torch.no_grad():
                for pe, p in ema_params:
                    pe.lerp_(p, 1 - beta)
        if D:
            shown += args.batch

        now = time.time()
        if step % C.LOG_EVERY == 0 or step == 1 or now - last["log"] > 60:
            last["log"] = now
            rate = (shown - shown0) / (time.time() - t0)
            head = (f"D {loss_d.item():.3f} real {d_real.mean().item():+.2f} fake {d_fake.mean().item():+.2f} "
                    f"aux {loss_aux.item():.3f} r1 {loss_r1.item():.3f} | G adv {loss_adv.item():.3f}"
                    if D else f"anchor {loss_anchor.item():.4f}")
            print(f"step {step} kimg {shown / 1000:.2f} | {rate:.1f} img/s | {head} attr {loss_attr.item():.2f} | "
                  f"id {loss_id.item():.3f} (same {cos_same.mean().item():.3f} diff {cos_div.mean().item():.3f}) "
                  f"mood {loss_mood.item():.3f} hair {loss_hair.item():.4f}", flush=True)
        if step == 1 and args.snapshots:
            # Fail in the first second, not at the first mark, if snapshots cannot be written.
            save_snapshot(args.snapshots, "probe", G_ema, step, shown, fixed_z, previews)
            for ext in (".npz", ".png"):
                os.remove(os.path.join(args.snapshots, "probe" + ext))
        if step % C.SAMPLE_EVERY == 0 or now - last["sample"] > 1200:
            last["sample"] = now
            sample_grid(G_ema, os.path.join(args.run, "samples", f"{shown // 1000:06d}kimg-{step}.png"), fixed_z, previews)
        if args.snapshots and marks and time.time() >= t0 + marks[0][0] * 60 * args.minutes:
            save_snapshot(args.snapshots, marks.pop(0)[1], G_ema, step, shown, fixed_z, previews)
        # By steps on a GPU, by time on a CPU (where a thousand steps take hours).
        if step % C.CHECKPOINT_EVERY == 0 or finished() or now - last["checkpoint"] > 600:
            last["checkpoint"] = now
            state = {"G": G.state_dict(), "G_ema": G_ema.state_dict(), "opt_g": opt_g.state_dict(),
                     "step": step, "shown": shown, "d_warmup_until": d_warmup_until}
            if D:
                state.update(D=D.state_dict(), opt_d=opt_d.state_dict())
            torch.save(state, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
            if args.state_out:
                write_state(args.state_out, G, G_ema, D, critic, step, shown, d_warmup_until)
    if args.snapshots:
        save_snapshot(args.snapshots, "snapshot-end", G_ema, step, shown, fixed_z, previews)
    print(f"done: step {step}, {shown / 1000:.1f} kimg, {time.time() - t_start:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
