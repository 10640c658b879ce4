#!/usr/bin/env python3
"""Generate the dog-breed-pipeline example: two small trained ONNX image classifiers and two requests.

Run from anywhere:  python3 scripts/gen_dog_breed.py
Needs: numpy, onnx, onnxruntime, scikit-learn (no Pillow: PNGs are written with zlib).

The seed (KServe's InferenceGraph tutorial) chains a cat/dog classifier and a dog-breed classifier. Real
photos and real networks are too big to commit, so this script draws synthetic cartoon portraits with
numpy and trains two real, tiny classifiers on them:

* cat-dog-classifier: 2 classes. Cats are grey tabbies (dark stripes, pointed ears, green eyes);
  dogs are drawn from the 5 breeds below (warm or white coats, floppy ears, no stripes).
* dog-breed-classifier: 5 breeds, each with its own coat colour and pattern.

Both models have the same shape: fixed image features computed inside the ONNX graph (mean colour,
mean square, chroma, luminance gradients at three scales, a 2x2 colour grid; GlobalAveragePool /
AveragePool over 224x224), standardised, then a multinomial logistic regression (sklearn, lbfgs) as a
Gemm. Input `input` FP32 [batch, 3, 224, 224] NCHW, normalised exactly as
examples/custom-model/image.ts does (pixels / 255, ImageNet mean and std); output `logits` FP32
[batch, classes]. The images are drawn at 256x256, so the TypeScript preprocessing (shorter side to
256, centre 224x224 crop) is a plain crop and training sees the same pixels the server will.

Every output is deterministic (fixed seeds, lbfgs, no timestamps); accuracy on held-out images is
checked (> 95 %) and the script stops with an error if it is not reached.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, checker, helper, numpy_helper
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples/dog-breed-pipeline"
MODELS = EXAMPLE / "models"

# Opset 17 / IR 8 load in onnxruntime-node 1.30 and in older runtimes too (as scripts/gen_fixtures.py).
OPSET = 17
IR_VERSION = 8

# examples/custom-model/image.ts: Resize(256) -> CenterCrop(224) -> Normalize(ImageNet mean, std).
SIZE = 256
CROP = 224
OFFSET = (SIZE - CROP) // 2
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

# Index -> answer, like TorchServe's index_to_name.json in the seed: the cat class answers "It's a cat!".
CAT_DOG_LABELS = ["It's a cat!", "dog"]
BREEDS = [
    "Kuvasz",
    "American_water_spaniel",
    "Glen_of_imaal_terrier",
    "Manchester_terrier",
    "American_eskimo_dog",
]

TRAIN_PER_CLASS = {"cat-dog-classifier": 600, "dog-breed-classifier": 300}
TEST_PER_CLASS = {"cat-dog-classifier": 250, "dog-breed-classifier": 120}
MIN_ACCURACY = 0.95

# One grid of pixel coordinates shared by every drawing.
YY, XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


# ---------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------


def ellipse(cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return ((XX - cx) / rx) ** 2 + ((YY - cy) / ry) ** 2 <= 1.0


def triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> np.ndarray:
    def side(p, q):
        return (XX - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (YY - q[1])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    neg = (d1 < 0) | (d2 < 0) | (d3 < 0)
    pos = (d1 > 0) | (d2 > 0) | (d3 > 0)
    return ~(neg & pos)


def segment(a: tuple[float, float], b: tuple[float, float], width: float) -> np.ndarray:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = np.clip(((XX - ax) * dx + (YY - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return (XX - ax - t * dx) ** 2 + (YY - ay - t * dy) ** 2 <= (width / 2) ** 2


def paint(canvas: np.ndarray, mask: np.ndarray, colour) -> None:
    canvas[mask] = np.asarray(colour, dtype=np.float32)


def jitter(rng: np.random.Generator, colour, amount: float) -> np.ndarray:
    return np.clip(np.asarray(colour, dtype=np.float32) + rng.uniform(-amount, amount, 3), 0, 255)


# Backgrounds are shared by every class, so they carry no label information.
BACKGROUNDS = [
    (150, 190, 230),  # sky
    (110, 160, 90),  # grass
    (215, 200, 170),  # floor
    (200, 200, 205),  # wall
    (70, 80, 100),  # dusk
    (180, 140, 120),  # brick
]


def background(rng: np.random.Generator) -> np.ndarray:
    top = jitter(rng, BACKGROUNDS[rng.integers(len(BACKGROUNDS))], 25)
    bottom = jitter(rng, BACKGROUNDS[rng.integers(len(BACKGROUNDS))], 25)
    t = (YY / (SIZE - 1))[..., None]
    return (1 - t) * top + t * bottom


def head_geometry(rng: np.random.Generator, clean: bool) -> dict[str, float]:
    if clean:
        return {"cx": 128.0, "cy": 118.0, "rx": 64.0, "ry": 68.0}
    return {
        "cx": 128 + rng.uniform(-14, 14),
        "cy": 118 + rng.uniform(-12, 12),
        "rx": rng.uniform(54, 70),
        "ry": rng.uniform(58, 74),
    }


def draw_cat(rng: np.random.Generator, clean: bool = False) -> np.ndarray:
    """A grey tabby: grey coat with dark wavy stripes, pointed ears, green eyes, pink nose, whiskers."""
    img = background(rng)
    g = head_geometry(rng, clean)
    cx, cy, rx, ry = g["cx"], g["cy"], g["rx"] * 0.92, g["ry"] * 0.88
    grey = rng.uniform(105, 175) if not clean else 150.0
    coat = np.array([grey, grey, grey + (0 if clean else rng.uniform(-4, 6))], dtype=np.float32)
    dark = coat - (55 if clean else rng.uniform(45, 70))

    body = ellipse(cx, cy + ry + 55, rx * 1.35, 70)
    ears = np.zeros_like(body)
    inner = np.zeros_like(body)
    for s in (-1, 1):
        base_out = (cx + s * rx * 0.85, cy - ry * 0.35)
        base_in = (cx + s * rx * 0.15, cy - ry * 0.8)
        tip = (cx + s * rx * 0.7, cy - ry * 1.45)
        ears |= triangle(base_out, base_in, tip)
        inner |= triangle(
            (cx + s * rx * 0.72, cy - ry * 0.5), (cx + s * rx * 0.3, cy - ry * 0.8), (cx + s * rx * 0.66, cy - ry * 1.25)
        )
    head = ellipse(cx, cy, rx, ry)
    fur = body | ears | head

    # Tabby stripes: horizontal bands with a wave, period 14-22 px.
    period = 18.0 if clean else rng.uniform(14, 22)
    phase = 0.0 if clean else rng.uniform(0, period)
    wave = 4.0 * np.sin(XX / 11.0 + phase)
    stripes = ((YY + wave + phase) % period) < period * 0.42
    paint(img, fur, coat)
    paint(img, fur & stripes & ~inner, dark)
    paint(img, inner, (235, 160, 170))

    eye_colour = (90, 190, 80) if clean else jitter(rng, (110, 185, 70), 30)
    for s in (-1, 1):
        ex, ey = cx + s * rx * 0.38, cy - ry * 0.08
        paint(img, ellipse(ex, ey, rx * 0.17, ry * 0.12), eye_colour)
        paint(img, ellipse(ex, ey, rx * 0.04, ry * 0.11), (15, 15, 15))
    nose_y = cy + ry * 0.3
    paint(img, triangle((cx - 8, nose_y), (cx + 8, nose_y), (cx, nose_y + 9)), (225, 120, 140))
    for s in (-1, 1):
        for k in (-1, 0, 1):
            a = (cx + s * 14, nose_y + 10 + 4 * k)
            b = (cx + s * rx * 1.05, nose_y + 4 + 12 * k)
            paint(img, segment(a, b, 1.6), (240, 240, 240))
    return img


def coat_texture(rng: np.random.Generator, breed: str, clean: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coat colour, pattern colour, pattern mask) of a breed."""
    j = 0 if clean else 1
    if breed == "Kuvasz":
        # Ivory-cream, smooth: faint, long waves.
        coat = jitter(rng, (242, 232, 205), 12 * j)
        mark = coat - np.array([18, 20, 26], dtype=np.float32)
        pattern = np.sin(XX / 9.0 + 2 * np.sin(YY / 23.0)) > 0.93
    elif breed == "American_water_spaniel":
        # Dark chocolate with tight curls: small round blobs of a lighter brown.
        coat = jitter(rng, (92, 52, 30), 14 * j)
        mark = coat + np.array([38, 26, 16], dtype=np.float32)
        ph = rng.uniform(0, 6.3, 2) * j
        pattern = (np.sin(XX * 0.55 + ph[0]) * np.sin(YY * 0.55 + ph[1])) > 0.55
    elif breed == "Glen_of_imaal_terrier":
        # Wheaten, rough coat: short diagonal darker strokes.
        coat = jitter(rng, (205, 172, 112), 14 * j)
        mark = coat - np.array([55, 50, 40], dtype=np.float32)
        ph = rng.uniform(0, 6.3) * j
        pattern = (np.sin((XX + YY) * 0.45 + ph) > 0.6) & (np.sin((XX - YY) * 0.13 + ph) > 0.0)
    elif breed == "Manchester_terrier":
        # Black and tan: jet-black coat, tan markings added by the caller (muzzle, brows, chest).
        coat = jitter(rng, (28, 26, 30), 10 * j)
        mark = jitter(rng, (192, 112, 52), 16 * j)
        pattern = np.zeros((SIZE, SIZE), dtype=bool)
    elif breed == "American_eskimo_dog":
        # Pure white, fluffy: a speckle of pale blue-grey shadows.
        coat = jitter(rng, (250, 250, 252), 5 * j)
        mark = coat - np.array([40, 36, 26], dtype=np.float32)
        pattern = np.random.default_rng(int(rng.integers(1 << 30)) if not clean else 7).random((SIZE, SIZE)) < 0.09
    else:
        raise ValueError(breed)
    return coat, mark, pattern


def draw_dog(rng: np.random.Generator, breed: str, clean: bool = False) -> np.ndarray:
    """A dog portrait: coat colour and pattern by breed, long floppy ears, muzzle, black nose."""
    img = background(rng)
    g = head_geometry(rng, clean)
    cx, cy, rx, ry = g["cx"], g["cy"], g["rx"], g["ry"]
    coat, mark, pattern = coat_texture(rng, breed, clean)

    body = ellipse(cx, cy + ry + 50, rx * 1.45, 75)
    head = ellipse(cx, cy, rx, ry)
    ear_len = ry * (0.75 if clean else rng.uniform(0.6, 0.9))
    ears = np.zeros_like(head)
    for s in (-1, 1):
        ears |= ellipse(cx + s * rx * 0.95, cy + ry * 0.05 + ear_len * 0.3, rx * 0.32, ear_len)
    if breed == "American_eskimo_dog":
        # A fluffy ruff around the head.
        body |= ellipse(cx, cy + ry * 0.5, rx * 1.3, ry * 0.9)
    fur = body | head | ears
    paint(img, fur, coat)
    paint(img, fur & pattern, mark)
    # Ears a shade darker than the coat, so their outline shows on every breed.
    paint(img, ears & ~head, np.clip(coat * 0.8, 0, 255))
    paint(img, ears & ~head & pattern, np.clip(mark * 0.8, 0, 255))

    muzzle = ellipse(cx, cy + ry * 0.42, rx * 0.48, ry * 0.34)
    if breed == "Manchester_terrier":
        paint(img, muzzle | body & ellipse(cx, cy + ry + 20, rx * 0.5, 30), mark)
        for s in (-1, 1):
            paint(img, ellipse(cx + s * rx * 0.35, cy - ry * 0.32, rx * 0.1, ry * 0.06), mark)
    else:
        paint(img, muzzle, np.clip(coat * 1.05 + 6, 0, 255))
    for s in (-1, 1):
        paint(img, ellipse(cx + s * rx * 0.36, cy - ry * 0.12, rx * 0.1, ry * 0.1), (35, 22, 15))
    paint(img, ellipse(cx, cy + ry * 0.3, rx * 0.16, ry * 0.1), (20, 20, 20))
    paint(img, segment((cx, cy + ry * 0.38), (cx, cy + ry * 0.58), 2.5), (40, 25, 25))
    return img


def finish(rng: np.random.Generator, img: np.ndarray, clean: bool) -> np.ndarray:
    """Lighting and sensor noise (not on the committed examples, which must stay small as PNGs)."""
    if not clean:
        img = img * rng.uniform(0.85, 1.15) + rng.normal(0.0, rng.uniform(0, 8), img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# data sets and preprocessing
# ---------------------------------------------------------------------------


def make_set(rng: np.random.Generator, drawers: list[Callable[[np.random.Generator], np.ndarray]], per_class: int):
    images, labels = [], []
    for _ in range(per_class):
        for label, draw in enumerate(drawers):
            images.append(finish(rng, draw(rng), clean=False))
            labels.append(label)
    return np.stack(images), np.array(labels)


def preprocess(images: np.ndarray) -> np.ndarray:
    """uint8 [N, 256, 256, 3] -> float32 [N, 3, 224, 224]: image.ts's centre crop and normalisation."""
    crop = images[:, OFFSET : OFFSET + CROP, OFFSET : OFFSET + CROP, :].astype(np.float32) / 255.0
    return ((crop - MEAN) / STD).transpose(0, 3, 1, 2).copy()


# ---------------------------------------------------------------------------
# the ONNX graph
# ---------------------------------------------------------------------------


def feature_nodes() -> tuple[list[onnx.NodeProto], list[onnx.TensorProto], int]:
    """Fixed (untrained) image features, `features` [N, F]; returns the nodes, initializers and F."""
    # Pixel-space chroma R-G and G-B from normalised input: p_c = x_c * std_c + mean_c.
    chroma_w = np.array([[STD[0], -STD[1], 0.0], [0.0, STD[1], -STD[2]]], dtype=np.float32).reshape(2, 3, 1, 1)
    chroma_b = np.array([MEAN[0] - MEAN[1], MEAN[1] - MEAN[2]], dtype=np.float32)
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    lum_w = (luma * STD).reshape(1, 3, 1, 1).astype(np.float32)
    lum_b = np.array([float((luma * MEAN).sum())], dtype=np.float32)
    # Horizontal and vertical luminance differences at distances 1, 3 and 6 px (9x9 kernels, mostly zero).
    grad_w = np.zeros((6, 1, 9, 9), dtype=np.float32)
    for k, d in enumerate((1, 3, 6)):
        lo = 4 - d // 2
        grad_w[2 * k, 0, 4, lo], grad_w[2 * k, 0, 4, lo + d] = -1.0, 1.0
        grad_w[2 * k + 1, 0, lo, 4], grad_w[2 * k + 1, 0, lo + d, 4] = -1.0, 1.0
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["mean_rgb"]),
        helper.make_node("Mul", ["input", "input"], ["square"]),
        helper.make_node("GlobalAveragePool", ["square"], ["mean_square"]),
        helper.make_node("Conv", ["input", "chroma_w", "chroma_b"], ["chroma"], kernel_shape=[1, 1]),
        helper.make_node("Abs", ["chroma"], ["chroma_abs"]),
        helper.make_node("GlobalAveragePool", ["chroma_abs"], ["mean_chroma"]),
        helper.make_node("Conv", ["input", "lum_w", "lum_b"], ["luminance"], kernel_shape=[1, 1]),
        helper.make_node("Conv", ["luminance", "grad_w"], ["gradients"], kernel_shape=[9, 9]),
        helper.make_node("Abs", ["gradients"], ["gradients_abs"]),
        helper.make_node("GlobalAveragePool", ["gradients_abs"], ["mean_gradients"]),
        helper.make_node(
            "Concat", ["mean_rgb", "mean_square", "mean_chroma", "mean_gradients"], ["pooled"], axis=1
        ),
        helper.make_node("Flatten", ["pooled"], ["global_features"], axis=1),
        # Mean colour of each quarter of the crop: where the ears and the coat are.
        helper.make_node("AveragePool", ["input"], ["grid"], kernel_shape=[112, 112], strides=[112, 112]),
        helper.make_node("Flatten", ["grid"], ["grid_features"], axis=1),
        helper.make_node("Concat", ["global_features", "grid_features"], ["features"], axis=1),
    ]
    inits = [
        numpy_helper.from_array(chroma_w, "chroma_w"),
        numpy_helper.from_array(chroma_b, "chroma_b"),
        numpy_helper.from_array(lum_w, "lum_w"),
        numpy_helper.from_array(lum_b, "lum_b"),
        numpy_helper.from_array(grad_w, "grad_w"),
    ]
    return nodes, inits, 3 + 3 + 2 + 6 + 12


def make_model(graph: onnx.GraphProto, doc: str) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tserve-gen-dog-breed",
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    checker.check_model(model, full_check=True)
    return model


def image_input() -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, CROP, CROP])


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # deterministic reductions
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def run_batched(sess: ort.InferenceSession, images: np.ndarray, output: str, batch: int = 64) -> np.ndarray:
    parts = [sess.run([output], {"input": preprocess(images[i : i + batch])})[0] for i in range(0, len(images), batch)]
    return np.concatenate(parts)


def feature_extractor() -> ort.InferenceSession:
    nodes, inits, n = feature_nodes()
    graph = helper.make_graph(
        nodes,
        "features",
        [image_input()],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n])],
        initializer=inits,
    )
    return session(make_model(graph, "feature extractor"))


def classifier_model(name: str, mu: np.ndarray, sigma: np.ndarray, weights: np.ndarray, bias: np.ndarray, doc: str):
    nodes, inits, _ = feature_nodes()
    nodes += [
        helper.make_node("Sub", ["features", "feature_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "feature_std"], ["standardised"]),
        # weights are [classes, features], like sklearn's coef_ and torch.nn.Linear.
        helper.make_node("Gemm", ["standardised", "fc_w", "fc_b"], ["logits"], transB=1),
    ]
    inits += [
        numpy_helper.from_array(mu.astype(np.float32), "feature_mean"),
        numpy_helper.from_array(sigma.astype(np.float32), "feature_std"),
        numpy_helper.from_array(weights.astype(np.float32), "fc_w"),
        numpy_helper.from_array(bias.astype(np.float32), "fc_b"),
    ]
    graph = helper.make_graph(
        nodes,
        name.replace("-", "_"),
        [image_input()],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(bias)])],
        initializer=inits,
    )
    return make_model(graph, doc)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def train(name: str, drawers, labels: list[str], seed: int, extractor: ort.InferenceSession) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    train_x, train_y = make_set(rng, drawers, TRAIN_PER_CLASS[name])
    test_x, test_y = make_set(rng, drawers, TEST_PER_CLASS[name])
    features = run_batched(extractor, train_x, "features").astype(np.float64)
    mu = features.mean(axis=0)
    sigma = features.std(axis=0) + 1e-6
    clf = LogisticRegression(C=1.0, max_iter=5000, solver="lbfgs", random_state=0)
    clf.fit((features - mu) / sigma, train_y)
    weights, bias = clf.coef_, clf.intercept_
    if len(labels) == 2:
        # sklearn keeps one row for two classes (the log-odds of class 1); split it into two logits.
        weights = np.vstack([-weights / 2, weights / 2])
        bias = np.array([-bias[0] / 2, bias[0] / 2])
    doc = (
        f"{name}: synthetic-image classifier ({', '.join(labels)}). Fixed features + logistic regression, "
        f"trained by scripts/gen_dog_breed.py (seed {seed})."
    )
    model = classifier_model(name, mu, sigma, weights, bias, doc)

    sess = session(model)
    train_acc = (run_batched(sess, train_x, "logits").argmax(axis=1) == train_y).mean()
    predicted = run_batched(sess, test_x, "logits").argmax(axis=1)
    test_acc = (predicted == test_y).mean()
    print(f"{name}: {len(train_y)} training images, accuracy {train_acc:.4f}")
    print(f"{name}: {len(test_y)} held-out images, accuracy {test_acc:.4f}")
    for c, label in enumerate(labels):
        print(f"  {label:24} {(predicted[test_y == c] == c).mean():.4f} of {(test_y == c).sum()}")
    assert test_acc > MIN_ACCURACY, f"{name}: held-out accuracy {test_acc:.4f} is not above {MIN_ACCURACY}"
    return model


# ---------------------------------------------------------------------------
# output files
# ---------------------------------------------------------------------------


def png(pixels: np.ndarray) -> bytes:
    """A minimal RGB PNG encoder (zlib level 9, per-row filter with the smallest sum of |bytes|)."""
    height, width, _ = pixels.shape
    rows = pixels.astype(np.int16).reshape(height, width * 3)
    raw = bytearray()
    prev = np.zeros(width * 3, dtype=np.int16)
    for row in rows:
        left = np.concatenate([np.zeros(3, dtype=np.int16), row[:-3]])
        candidates = [(0, row), (1, row - left), (2, row - prev)]
        kind, data = min(candidates, key=lambda c: int(np.abs(((c[1] + 128) % 256) - 128).sum()))
        raw.append(kind)
        raw += (data % 256).astype(np.uint8).tobytes()
        prev = row

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path.relative_to(ROOT)} ({len(data)} bytes)")


def write_json(path: Path, value: object) -> None:
    write(path, (json.dumps(value, indent=2) + "\n").encode())


def save_model_folder(name: str, model: onnx.ModelProto, labels: list[str]) -> None:
    folder = MODELS / name
    write(folder / "model.onnx", model.SerializeToString())
    assert (folder / "model.onnx").stat().st_size < 200_000
    write_json(folder / "labels.json", labels)
    write_json(folder / "model-settings.json", {"runtime": "module", "modelFile": "model.ts"})


def write_request(path: Path, pixels: np.ndarray) -> None:
    body = {"instances": [{"image": {"b64": __import__("base64").b64encode(png(pixels)).decode()}}]}
    write(path, (json.dumps(body) + "\n").encode())
    assert path.stat().st_size < 30_000, f"{path} is too large"


def main() -> None:
    extractor = feature_extractor()
    dog_drawers = [lambda rng, b=b: draw_dog(rng, b) for b in BREEDS]

    def any_dog(rng: np.random.Generator) -> np.ndarray:
        return draw_dog(rng, BREEDS[rng.integers(len(BREEDS))])

    cat_dog = train("cat-dog-classifier", [draw_cat, any_dog], CAT_DOG_LABELS, 2024, extractor)
    breed = train("dog-breed-classifier", dog_drawers, BREEDS, 2025, extractor)
    save_model_folder("cat-dog-classifier", cat_dog, CAT_DOG_LABELS)
    save_model_folder("dog-breed-classifier", breed, BREEDS)

    # The example requests: a clean (noise-free) grey tabby and a clean Kuvasz, as the seed's dog.
    cat = finish(np.random.default_rng(1), draw_cat(np.random.default_rng(11), clean=True), clean=True)
    dog = finish(np.random.default_rng(2), draw_dog(np.random.default_rng(12), "Kuvasz", clean=True), clean=True)
    write_request(EXAMPLE / "cat.json", cat)
    write_request(EXAMPLE / "dog.json", dog)

    cat_dog_sess, breed_sess = session(cat_dog), session(breed)
    for label, pixels in (("cat.json", cat), ("dog.json", dog)):
        p = softmax(cat_dog_sess.run(["logits"], {"input": preprocess(pixels[None])})[0])[0]
        q = softmax(breed_sess.run(["logits"], {"input": preprocess(pixels[None])})[0])[0]
        top = sorted(zip(BREEDS, q.tolist()), key=lambda t: -t[1])
        print(f"{label}: cat-dog {dict(zip(CAT_DOG_LABELS, p.tolist()))}; breeds {top}")
        if label == "cat.json":
            assert p.argmax() == 0, "cat.json must be classified as a cat"
        else:
            assert p.argmax() == 1 and top[0][0] == "Kuvasz", "dog.json must be a dog, and a Kuvasz"


if __name__ == "__main__":
    main()
