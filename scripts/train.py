"""Train the conditional face generator: a conditional GAN.

    python3 scripts/train.py --pack runs/pack --run runs/train --minutes 7.5      (GPU machine)
    /usr/bin/python3 scripts/train.py --labels runs/labels --run runs/train --kimg 200   (CPU)

Data: a pack from scripts/pack.py, or label.py's output folder directly. Resumes from
<run>/ckpt.pt when it exists; without one, --init-from models/<name> starts G from the committed
export (its ONNX initialisers are G's state dict) and lets a fresh D train alone for
D_WARMUP_KIMG first, so a session can go on from the shipped weights. Recipe: first the attribute critic C(x), trained on the data and
frozen. Then G(z, c) against D(x, c) with the non-saturating logistic loss; D has a projection
term and an auxiliary attribute regression on reals; DiffAugment (translation, cutout) on
everything D sees; lazy R1 on reals; G also pays the critic's error on its faces. Fakes get
the condition vectors of real people (so attribute combinations stay plausible) and
horizontal flips negate yaw. G is exported from its moving average. Stops at --kimg images or
after --minutes, whichever comes first; --snapshots DIR receives the EMA generator (float16)
and a sample grid at half, three quarters and the end of the time.
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
from model import AttributeNet, Discriminator, Generator  # noqa: E402


HALF_SUFFIX = ".f16"  # export.py stores weights as float16 initialisers named <weight>.f16


def export_weights(onnx_path):
    """An export's ONNX initialisers as float32 tensors, named as in G's state dict."""
    import onnx
    from onnx import numpy_helper
    return {t.name.removesuffix(HALF_SUFFIX): torch.from_numpy(numpy_helper.to_array(t).astype(np.float32))
            for t in onnx.load(onnx_path).graph.initializer}


def load_export(folder, G):
    """G's weights from an export; returns the images it had been shown."""
    import json
    weights = export_weights(os.path.join(folder, "generator.onnx"))
    G.load_state_dict({k: weights[k] for k in G.state_dict()})
    with open(os.path.join(folder, "manifest.json")) as f:
        return int(json.load(f)["training"]["images_shown"])


def encode_condition(row):
    """One labels.csv row -> condition vector, in CONDITION_LAYOUT order."""
    v = []
    for name, size, _ in C.CONDITION_LAYOUT:
        if name == "gender":
            v.append(1.0 if row["gender"] == "male" else 0.0)
        elif name == "age":
            v.append(min(float(row["age"]), 80.0) / 80)
        elif name == "ethnicity":
            v += [1.0 if row["ethnicity"] == g else 0.0 for g in C.ETHNICITY_GROUPS]
        elif name in ("skintone", "facial_hair", "hair_length"):
            v.append(float(row[name]) / 10)
        elif name == "eyewear":
            v += [1.0 if row["eyewear"] == e else 0.0 for e in C.EYEWEAR]
        elif name == "lighting":
            v += [1.0 if row["lighting"] == e else 0.0 for e in C.LIGHTING]
        elif name == "zoom":
            v.append(1.0 if row["zoom"] == "closeup" else 0.0)
        elif name == "mood":
            v += [1.0 if row["mood"] == e else 0.0 for e in C.MOODS]
        elif name == "yaw":
            v.append(float(row["yaw"]) / 60)
        else:
            raise ValueError(name)
    assert len(v) == C.COND_DIM
    return v


def slot_offset(name):
    """Where a CONDITION_LAYOUT slot starts in the condition vector."""
    names = [n for n, _, _ in C.CONDITION_LAYOUT]
    return sum(size for _, size, _ in C.CONDITION_LAYOUT[: names.index(name)])


YAW_INDEX = slot_offset("yaw")
ZOOM_INDEX = slot_offset("zoom")
# Per-component weight of the critic term, in condition order.
ATTR_COMPONENT_WEIGHTS = torch.tensor(
    [C.ATTR_FOCUS.get(name, C.ATTR_OTHERS) for name, size, _ in C.CONDITION_LAYOUT for _ in range(size)])


def load_data(args):
    """Training images (uint8, N x 3 x H x W) and condition vectors, from a pack or label.py's folder."""
    if args.pack:
        from pack import read_pack
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
    return torch.roll(x, (dy, dx), (2, 3))


def mirror_yaw(c, flip):
    """Conditions of the faces where flip is set mirrored left to right: yaw changes sign."""
    c = c.clone()
    c[:, YAW_INDEX] = torch.where(flip, -c[:, YAW_INDEX], c[:, YAW_INDEX])
    return c


def real_batch(images, cond, n, dev, pool=None):
    """A random batch of reals in [-1, 1] with their conditions (from pool, if given), half of
    them mirrored."""
    idx = torch.randint(0, len(images) if pool is None else len(pool), (n,), device=images.device)
    if pool is not None:
        idx = pool[idx]
    x = images[idx].to(dev).float().div(127.5).sub(1)
    flip = torch.rand(n, device=dev) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x, mirror_yaw(cond[idx].to(dev), flip)


def random_conditions(cond, n, dev):
    """Real people's conditions for fakes, half of them mirrored as the reals are."""
    idx = torch.randint(0, len(cond), (n,), device=cond.device)
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
        pred = torch.cat([critic(images[val[i:i + 512]].to(dev).float() / 255) for i in range(0, n_val, 512)])
    err = (pred - target[val].to(dev)).pow(2).mean(0)
    print(f"critic held-out: sum of squared error {err.sum():.2f} over {len(err)} standardised components "
          f"(predicting the mean: {len(err)}); gender {err[0]:.3f}, age {err[1]:.3f}", flush=True)
    torch.save(critic.state_dict(), path)
    return critic


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
                c[0], c[1] = male, age / 80
                out.append(c[None])
    return out


def save_snapshot(folder, name, g_ema, step, shown, fixed_z, previews):
    """The EMA generator in float16 (export reads it) and its sample grid."""
    # numpy's format, not torch.save: the GPU machine's PyTorch is newer than Debian's.
    state = {k: v.detach().half().cpu().numpy() for k, v in g_ema.state_dict().items()}
    np.savez(os.path.join(folder, f"{name}.npz"), step=step, shown=shown, **state)
    sample_grid(g_ema, os.path.join(folder, f"{name}.png"), fixed_z, previews)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", help="training pack made by scripts/pack.py")
    ap.add_argument("--labels", default="runs/labels", help="label.py's output folder (when there is no pack)")
    ap.add_argument("--run", default="runs/train")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kimg", type=int, default=100000, help="stop after this many thousand images shown")
    ap.add_argument("--minutes", type=float, default=1e9, help="stop after this much training time")
    ap.add_argument("--snapshots", help="folder for EMA snapshots at 1/2, 3/4 and the end of --minutes")
    ap.add_argument("--batch", type=int, default=C.BATCH)
    ap.add_argument("--init-from", help="model folder (generator.onnx + manifest.json) to start G from; D starts fresh")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
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
    images = images.to(dev)  # 50k faces at 64 px are 0.6 GB: they live where training runs
    print(f"{len(images)} images, condition dim {cond.shape[1]}, device {dev}, "
          f"loaded in {time.time() - t_start:.0f} s", flush=True)
    c_mean, c_std = cond.mean(0).to(dev), cond.std(0).clamp(min=0.1).to(dev)
    standard = lambda c: (c - c_mean) / c_std  # noqa: E731
    cond = cond.to(dev)
    critic = train_critic(images, standard(cond), os.path.join(args.run, "critic.pt"), dev, max(64, args.batch))
    for p in critic.parameters():
        p.requires_grad_(False)

    G = Generator(C.LATENT_DIM, C.COND_DIM, C.G_CH).to(dev)
    D = Discriminator(C.COND_DIM, C.D_CH, C.RESOLUTION).to(dev)
    G_ema = Generator(C.LATENT_DIM, C.COND_DIM, C.G_CH).to(dev).eval()
    G_ema.load_state_dict(G.state_dict())
    for p in G_ema.parameters():
        p.requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), C.LR_G, betas=C.BETAS)
    opt_d = torch.optim.Adam(D.parameters(), C.LR_D, betas=C.BETAS)
    step, shown, d_warmup_until = 0, 0, 0
    ckpt_path = os.path.join(args.run, "ckpt.pt")
    if not os.path.exists(ckpt_path) and args.init_from:
        shown = load_export(args.init_from, G)
        G_ema.load_state_dict(G.state_dict())
        d_warmup_until = shown + C.D_WARMUP_KIMG * 1000
        print(f"G from {args.init_from} ({shown / 1000:.1f} kimg); D alone until {d_warmup_until / 1000:.1f} kimg", flush=True)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=dev)
        G.load_state_dict(ck["G"]), D.load_state_dict(ck["D"]), G_ema.load_state_dict(ck["G_ema"])
        opt_g.load_state_dict(ck["opt_g"]), opt_d.load_state_dict(ck["opt_d"])
        step, shown, d_warmup_until = ck["step"], ck["shown"], ck.get("d_warmup_until", 0)
        print(f"resumed at step {step}, {shown / 1000:.1f} kimg", flush=True)
    print(f"G {sum(p.numel() for p in G.parameters()) / 1e6:.2f} M parameters, "
          f"D {sum(p.numel() for p in D.parameters()) / 1e6:.2f} M", flush=True)

    attr_w = ATTR_COMPONENT_WEIGHTS.to(dev)
    fixed_z = torch.randn(8, C.LATENT_DIM, generator=torch.Generator().manual_seed(7)).to(dev)
    previews = [c.to(dev) for c in preview_conditions(cond.cpu())]
    ema_params = list(zip(G_ema.parameters(), G.parameters()))
    # Training time starts after loading and the critic: --minutes is time spent on G and D.
    t0, shown0, deadline = time.time(), shown, time.time() + 60 * args.minutes
    marks = [(0.5, "snapshot-half"), (0.75, "snapshot-three-quarters")]
    loss_r1 = loss_adv = loss_attr = torch.zeros((), device=dev)

    def finished():
        return shown >= args.kimg * 1000 or time.time() >= deadline

    while not finished():
        real, c_real = real_batch(images, cond, args.batch, dev)
        c_fake = random_conditions(cond, args.batch, dev)
        z = torch.randn(args.batch, C.LATENT_DIM, device=dev)

        # D: reals against fakes, projection on c, attribute regression on reals, lazy R1.
        r1 = step % C.R1_EVERY == 0
        with torch.no_grad():
            fake = G(z, c_fake)
        real_in = diff_augment(real).detach().requires_grad_(r1)
        d_real, aux_real = D(real_in, c_real)
        d_fake, _ = D(diff_augment(fake), c_fake)
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
        shown += args.batch
        if shown > d_warmup_until:  # with --init-from, a fresh D first learns the shipped G's faces alone
            # G: fool D, and show the critic the attributes asked for.
            z = torch.randn(args.batch, C.LATENT_DIM, device=dev)
            fake = G(z, c_fake)
            d_fake, _ = D(diff_augment(fake), c_fake)
            loss_adv = F.softplus(-d_fake).mean()
            loss_attr = ((critic(critic_view((fake + 1) / 2)) - standard(c_fake)).pow(2) * attr_w).sum(1).mean()
            ramp = min(1.0, shown / (C.ATTR_RAMP_KIMG * 1000))
            loss_g = loss_adv + ramp * C.ATTR_WEIGHT * loss_attr
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            # EMA with StyleGAN's ramp-up: early on the average must not lag behind a fast-moving G.
            halflife = min(C.EMA_HALFLIFE_KIMG * 1000, max(shown, 1) * 0.05)
            beta = 0.5 ** (args.batch / halflife)
            with torch.no_grad():
                for pe, p in ema_params:
                    pe.lerp_(p, 1 - beta)

        if step % 100 == 0 or step == 1:
            rate = (shown - shown0) / (time.time() - t0)
            print(f"step {step} kimg {shown / 1000:.1f} | {rate:.0f} img/s | D {loss_d.item():.3f} "
                  f"real {d_real.mean().item():+.2f} fake {d_fake.mean().item():+.2f} aux {loss_aux.item():.3f} "
                  f"r1 {loss_r1.item():.3f} | G adv {loss_adv.item():.3f} attr {loss_attr.item():.2f}", flush=True)
        if step == 1 and args.snapshots:
            # Fail in the first second, not at the first mark, if snapshots cannot be written.
            save_snapshot(args.snapshots, "probe", G_ema, step, shown, fixed_z, previews)
            for ext in (".npz", ".png"):
                os.remove(os.path.join(args.snapshots, "probe" + ext))
        if step % C.SAMPLE_EVERY == 0:
            sample_grid(G_ema, os.path.join(args.run, "samples", f"{shown // 1000:06d}kimg.png"), fixed_z, previews)
        if args.snapshots and marks and time.time() >= t0 + marks[0][0] * 60 * args.minutes:
            save_snapshot(args.snapshots, marks.pop(0)[1], G_ema, step, shown, fixed_z, previews)
        if step % C.CHECKPOINT_EVERY == 0 or finished():
            tmp = ckpt_path + ".tmp"
            torch.save({"G": G.state_dict(), "D": D.state_dict(), "G_ema": G_ema.state_dict(),
                        "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                        "step": step, "shown": shown, "d_warmup_until": d_warmup_until}, tmp)
            os.replace(tmp, ckpt_path)
    if args.snapshots:
        save_snapshot(args.snapshots, "snapshot-end", G_ema, step, shown, fixed_z, previews)
    print(f"done: step {step}, {shown / 1000:.1f} kimg, {time.time() - t_start:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
