"""Train the conditional face generator.

    /usr/bin/python3 scripts/train.py --labels runs/labels --run runs/train [--threads 2] [--kimg 600]

Resumes from <run>/ckpt.pt when it exists. Without one, --init-from models/<name> starts G from
the committed export (its ONNX initialisers are G's state dict): a session whose run folder
was lost goes on from the shipped weights instead of from scratch; E, D and A start fresh,
and E gets REWARM_KIMG with G frozen to learn to invert it before D joins. Writes sample grids to <run>/samples/ and a
progress line with images/s and losses. Recipe: a conditional VAE (encoder E(x, c),
decoder = the generator G(z, c), Gaussian likelihood, KL to N(0, I)) for the first
ADV_START_KIMG; then a VAE-GAN: D judges reals against reconstructions and prior samples
with the hinge loss, projection + auxiliary attribute regression, DiffAugment
(translation, cutout) and lazy R1 on reals. G is exported from its moving average.
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
from model import AttributeNet, Discriminator, Encoder, Generator, LatentClassifier  # noqa: E402


def load_export(folder, G):
    """G's weights from an export's ONNX initialisers; returns the images it had been shown."""
    import json
    import onnx
    from onnx import numpy_helper
    model = onnx.load(os.path.join(folder, "generator.onnx"))
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
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


YAW_INDEX = sum(size for name, size, _ in C.CONDITION_LAYOUT[: [n for n, _, _ in C.CONDITION_LAYOUT].index("yaw")])
# Per-component weight of the critic term, in condition order.
ATTR_COMPONENT_WEIGHTS = torch.tensor(
    [C.ATTR_FOCUS.get(name, C.ATTR_OTHERS) for name, size, _ in C.CONDITION_LAYOUT for _ in range(size)])


def load_data(labels_dir):
    with open(os.path.join(labels_dir, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    cond = torch.tensor([encode_condition(r) for r in rows], dtype=torch.float32)
    images = torch.from_numpy(np.load(os.path.join(labels_dir, f"images{C.RESOLUTION}.npy"))).permute(0, 3, 1, 2)
    return images.contiguous(), cond


def diff_augment(x, g):
    """Translation by up to 1/8 and a random cutout of 1/4 the side, same for D's inputs."""
    n, _, h, w = x.shape
    shift = h // 8
    tx = torch.randint(-shift, shift + 1, (n, 1, 1), generator=g)
    ty = torch.randint(-shift, shift + 1, (n, 1, 1), generator=g)
    gy, gx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    gx = (gx[None] + tx).clamp(0, w - 1)
    gy = (gy[None] + ty).clamp(0, h - 1)
    idx = (gy * w + gx).view(n, 1, -1).expand(-1, x.shape[1], -1)
    x = x.flatten(2).gather(2, idx).view_as(x)
    cs = h // 4
    cx = torch.randint(0, w, (n, 1, 1), generator=g)
    cy = torch.randint(0, h, (n, 1, 1), generator=g)
    keep = ((torch.arange(w)[None, None, :] - cx).abs() > cs // 2) | \
           ((torch.arange(h)[None, :, None] - cy).abs() > cs // 2)
    return x * keep[:, None].float()


def critic_view(x, g):
    """What the critic sees, x in [0, 1]: shifted by up to 4 px, exposure and contrast jittered,
    half of them blurred. The same views in its training and when it judges G, so it reads
    attributes from coarse structure (all a young G can draw) and G cannot pass it with a
    pattern that works at one exact pixel position, exposure or sharpness."""
    n = len(x)
    r = lambda lo, hi: lo + (hi - lo) * torch.rand(n, 1, 1, 1, generator=g).to(x.device)  # noqa: E731
    mean = x.mean((1, 2, 3), keepdim=True)
    x = ((x - mean) * r(0.7, 1.3) + mean * r(0.8, 1.2)).clamp(0, 1)
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    x = torch.where(r(0, 1) < 0.5, blurred, x)
    dx, dy = torch.randint(-4, 5, (2,), generator=g).tolist()
    return torch.roll(x, (dy, dx), (2, 3))


def train_critic(images, target, path, g):
    """The frozen attribute critic: standardised c from the image, 90/10 split, a few epochs."""
    if os.path.exists(path):
        critic = AttributeNet(target.shape[1])
        critic.load_state_dict(torch.load(path))
        return critic.eval()
    perm = torch.randperm(len(images), generator=g)
    n_val = len(images) // 10
    val, tr = perm[:n_val], perm[n_val:]
    critic = AttributeNet(target.shape[1])
    opt = torch.optim.Adam(critic.parameters(), 2e-3)
    steps = C.CRITIC_EPOCHS * (len(tr) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    critic.train()
    for step in range(steps):
        idx = tr[torch.randint(0, len(tr), (64,), generator=g)]
        x, y = images[idx].float() / 255, target[idx].clone()
        flip = torch.rand(64, generator=g) < 0.5
        x[flip], y[flip, YAW_INDEX] = x[flip].flip(3), -y[flip, YAW_INDEX]
        loss = (critic(critic_view(x, g)) - y).pow(2).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0:
            print(f"critic step {step}/{steps} loss {loss.item():.3f}", flush=True)
    critic.eval()
    with torch.no_grad():
        pred = torch.cat([critic(images[val[i:i + 512]].float() / 255) for i in range(0, n_val, 512)])
    err = (pred - target[val]).pow(2).mean(0)
    print(f"critic held-out: sum of squared error {err.sum():.2f} over {len(err)} standardised components "
          f"(predicting the mean: {len(err)}); gender {err[0]:.3f}, age {err[1]:.3f}", flush=True)
    torch.save(critic.state_dict(), path)
    return critic


def sample_grid(g_ema, path, z, conds):
    with torch.no_grad():
        rows = [g_ema(z, c.expand(len(z), -1)) for c in conds]
    img = torch.cat(rows, 0).clamp(-1, 1).add(1).mul(127.5).byte()
    n = len(z)
    grid = img.view(len(conds), n, 3, C.RESOLUTION, C.RESOLUTION).permute(0, 3, 1, 4, 2)
    grid = grid.reshape(len(conds) * C.RESOLUTION, n * C.RESOLUTION, 3).numpy()
    from PIL import Image
    Image.fromarray(grid).save(path)


def preview_conditions(cond):
    """Fixed rows for the sample grid: female/male at 8, 30, 55, 75 from a typical label."""
    base = cond[cond[:, 0] < 0.5][0].clone()
    out = []
    for male in (0.0, 1.0):
        for age in (8, 30, 55, 75):
            c = base.clone()
            c[0], c[1] = male, age / 80
            out.append(c[None])
    return out


def kl_divergence(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default="runs/labels")
    ap.add_argument("--run", default="runs/train")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kimg", type=int, default=2000, help="stop after this many thousand real images shown")
    ap.add_argument("--batch", type=int, default=C.BATCH)
    ap.add_argument("--init-from", help="model folder (generator.onnx + manifest.json) to start G from")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    os.makedirs(os.path.join(args.run, "samples"), exist_ok=True)

    images, cond = load_data(args.labels)
    print(f"{len(images)} images, condition dim {cond.shape[1]}", flush=True)
    G = Generator(C.LATENT_DIM, C.COND_DIM, C.G_CH).to(dev)
    E = Encoder(C.LATENT_DIM, C.COND_DIM, C.D_CH, C.RESOLUTION).to(dev)
    D = Discriminator(C.COND_DIM, C.D_CH, C.RESOLUTION).to(dev)
    A = LatentClassifier(C.LATENT_DIM, C.COND_DIM).to(dev)
    G_ema = Generator(C.LATENT_DIM, C.COND_DIM, C.G_CH).to(dev).eval()
    G_ema.load_state_dict(G.state_dict())
    opt_g = torch.optim.Adam(list(G.parameters()) + list(E.parameters()), C.LR_VAE, betas=C.BETAS)
    opt_d = torch.optim.Adam(D.parameters(), C.LR_D, betas=C.BETAS)
    opt_a = torch.optim.Adam(A.parameters(), C.LR_A, betas=(0.5, 0.99))
    step, shown, rewarm_until = 0, 0, 0
    ckpt_path = os.path.join(args.run, "ckpt.pt")
    if not os.path.exists(ckpt_path) and args.init_from:
        shown = load_export(args.init_from, G)
        G_ema.load_state_dict(G.state_dict())
        rewarm_until = shown + C.REWARM_KIMG * 1000
        print(f"G from {args.init_from} ({shown / 1000:.1f} kimg); E alone until {rewarm_until / 1000:.1f} kimg", flush=True)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=dev)
        G.load_state_dict(ck["G"]), E.load_state_dict(ck["E"]), D.load_state_dict(ck["D"])
        G_ema.load_state_dict(ck["G_ema"])
        opt_g.load_state_dict(ck["opt_g"]), opt_d.load_state_dict(ck["opt_d"])
        if "A" in ck:
            A.load_state_dict(ck["A"]), opt_a.load_state_dict(ck["opt_a"])
        step, shown, rewarm_until = ck["step"], ck["shown"], ck.get("rewarm_until", 0)
        print(f"resumed at step {step}, {shown / 1000:.1f} kimg", flush=True)

    g = torch.Generator().manual_seed(1234 + step)
    c_mean, c_std = cond.mean(0), cond.std(0).clamp(min=0.1)
    critic = train_critic(images, (cond - c_mean) / c_std, os.path.join(args.run, "critic.pt"), g).to(dev)
    for p in critic.parameters():
        p.requires_grad_(False)
    c_mean, c_std = c_mean.to(dev), c_std.to(dev)
    standard = lambda c: (c - c_mean) / c_std  # noqa: E731
    attr_w = ATTR_COMPONENT_WEIGHTS.to(dev)
    fixed_z = torch.randn(8, C.LATENT_DIM, generator=torch.Generator().manual_seed(7)).to(dev)
    previews = [c.to(dev) for c in preview_conditions(cond)]
    ema_beta = 0.5 ** (args.batch / (C.EMA_HALFLIFE_KIMG * 1000))
    n = len(images)
    t0, shown0 = time.time(), shown
    loss_d = loss_aux = loss_adv = loss_gaux = torch.zeros(())
    sq_sum = lambda a, b: (a - b).pow(2).sum(1).mean()  # noqa: E731
    while shown < args.kimg * 1000:
        rewarming = shown < rewarm_until
        adversarial = shown >= C.ADV_START_KIMG * 1000 and not rewarming
        for p in G.parameters():
            p.requires_grad_(not rewarming)
        for group in opt_g.param_groups:
            group["lr"] = C.LR_G if adversarial else C.LR_VAE
        idx = torch.randint(0, n, (args.batch,), generator=g)
        real = images[idx].float().div(127.5).sub(1)
        c_real = cond[idx].clone()
        flip = torch.rand(args.batch, generator=g) < 0.5
        real[flip] = real[flip].flip(3)
        c_real[flip, YAW_INDEX] *= -1
        c_fake = cond[torch.randint(0, n, (args.batch,), generator=g)]
        z = torch.randn(args.batch, C.LATENT_DIM, generator=g)
        eps = torch.randn(args.batch, C.LATENT_DIM, generator=g)
        real, c_real, c_fake, z, eps = real.to(dev), c_real.to(dev), c_fake.to(dev), z.to(dev), eps.to(dev)

        # VAE: reconstruct the real image through its posterior sample.
        mu, logvar = E(real, c_real)
        recon = G(mu + (0.5 * logvar).exp() * eps, c_real)
        loss_rec = (recon - real).pow(2).sum((1, 2, 3)).mean() * C.REC_WEIGHT
        loss_kl = kl_divergence(mu, logvar)
        loss_g = loss_rec + C.KL_WEIGHT * loss_kl

        # Latent adversary: A learns to read c from z; E learns to make it read c_fake.
        loss_a = sq_sum(A(mu.detach()), standard(c_real))
        opt_a.zero_grad(set_to_none=True)
        loss_a.backward()
        opt_a.step()
        ramp = min(1.0, shown / (C.LAT_ADV_RAMP_KIMG * 1000))
        loss_g = loss_g + ramp * C.LAT_ADV_WEIGHT * sq_sum(A(mu), standard(c_fake))

        # Attribute critic on G's own drawings: half from the prior (what the server draws), half
        # real people's codes under someone else's c (an edit: same person, asked-for attributes).
        half = args.batch // 2
        z = torch.cat([z[:half], (mu + (0.5 * logvar).exp() * eps)[half:].detach()])
        fake = G(z, c_fake)
        loss_attr = ((critic(critic_view((fake + 1) / 2, g)) - standard(c_fake)).pow(2) * attr_w).sum(1).mean()
        loss_g = loss_g + ramp * C.ATTR_WEIGHT * loss_attr

        if adversarial:
            # D: reals against reconstructions and the drawings above.
            r1 = step % C.R1_EVERY == 0
            real_in = diff_augment(real, g).detach().requires_grad_(r1)
            d_real, aux_real = D(real_in, c_real)
            d_rec, _ = D(diff_augment(recon.detach(), g), c_real)
            d_fake, _ = D(diff_augment(fake.detach(), g), c_fake)
            loss_d = F.relu(1 - d_real).mean() + 0.5 * (F.relu(1 + d_rec).mean() + F.relu(1 + d_fake).mean())
            loss_aux = F.mse_loss(aux_real, c_real)
            loss = loss_d + C.AUX_WEIGHT * loss_aux
            if r1:
                grad, = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
                loss = loss + C.R1_GAMMA / 2 * grad.pow(2).flatten(1).sum(1).mean() * C.R1_EVERY
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()

            d_rec, _ = D(diff_augment(recon, g), c_real)
            d_fake, aux_fake = D(diff_augment(fake, g), c_fake)
            loss_adv = -0.5 * (d_rec.mean() + d_fake.mean())
            loss_gaux = F.mse_loss(aux_fake, c_fake)
            loss_g = loss_g + C.ADV_WEIGHT * loss_adv + C.AUX_G_WEIGHT * loss_gaux

        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

        with torch.no_grad():
            for pe, p in zip(G_ema.parameters(), G.parameters()):
                pe.lerp_(p, 1 - ema_beta)
        step += 1
        shown += args.batch

        if step % 50 == 0:
            rate = (shown - shown0) / (time.time() - t0)
            print(f"step {step} kimg {shown / 1000:.1f} | {rate:.1f} img/s | rec {loss_rec.item():.1f} "
                  f"kl {loss_kl.item():.1f} A {loss_a.item():.3f} attr {loss_attr.item():.2f} | D {loss_d.item():.3f} aux {loss_aux.item():.4f} | "
                  f"adv {loss_adv.item():.3f} gaux {loss_gaux.item():.4f}", flush=True)
        if step % C.SAMPLE_EVERY == 0:
            sample_grid(G_ema, os.path.join(args.run, "samples", f"{shown // 1000:06d}kimg.png"), fixed_z, previews)
        if step % C.CHECKPOINT_EVERY == 0 or shown >= args.kimg * 1000:
            tmp = ckpt_path + ".tmp"
            torch.save({"G": G.state_dict(), "E": E.state_dict(), "D": D.state_dict(), "G_ema": G_ema.state_dict(),
                        "A": A.state_dict(), "opt_a": opt_a.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                        "step": step, "shown": shown, "rewarm_until": rewarm_until}, tmp)
            os.replace(tmp, ckpt_path)


if __name__ == "__main__":
    main()
