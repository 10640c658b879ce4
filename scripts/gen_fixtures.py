#!/usr/bin/env python3
"""Generate the small ONNX models and JSON fixtures that tserve commits.

Run from anywhere:  python3 scripts/gen_fixtures.py
Needs: numpy, onnx, scikit-learn (iris only); onnxruntime is optional and only
used to compute test/fixtures/iris-expected.json (falls back to numpy).

Every output is deterministic: fixed seeds, fixed solver, no timestamps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, checker, helper, numpy_helper

# Repository root, so the script works regardless of the current directory.
ROOT = Path(__file__).resolve().parent.parent

# Opset 17 / IR 8 load in onnxruntime-node 1.30 and in older runtimes too.
OPSET = 17
IR_VERSION = 8

IRIS_LABELS = ["setosa", "versicolor", "virginica"]
IRIS_SEED_ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
# Extra iris rows (dataset indices) for the cross-check fixture: a mix of all three classes.
IRIS_EXTRA_INDICES = [0, 25, 60, 110, 140]

CNN_LABELS = [
    "tench",
    "goldfish",
    "great white shark",
    "tiger shark",
    "hammerhead",
    "electric ray",
    "stingray",
    "cock",
    "hen",
    "ostrich",
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def tensor_info(name: str, elem_type: int, dims: list) -> onnx.ValueInfoProto:
    # Strings in dims become symbolic (dynamic) dimensions, ints stay fixed.
    return helper.make_tensor_value_info(name, elem_type, dims)


def const(name: str, value: np.ndarray) -> onnx.TensorProto:
    # Initializers keep constants out of the node list and the graph small.
    return numpy_helper.from_array(value, name=name)


def save_model(graph: onnx.GraphProto, path: Path, doc: str) -> None:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tserve-gen-fixtures",
        producer_version="1",
        doc_string=doc,
    )
    # Pin the IR version: newer onnx defaults to one that old runtimes reject.
    model.ir_version = IR_VERSION
    checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def to_json(value: object, indent: int = 0) -> str:
    # Like json.dumps(indent=2), but arrays of scalars stay on one line so tensors read as rows.
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {to_json(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (list, dict)) for v in value):
        items = [inner + to_json(v, indent + 2) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, separators=(", ", ": "))


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Trailing newline keeps editors and diff tools quiet.
    path.write_text(to_json(value) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


# ---------------------------------------------------------------------------
# 1. iris classifier (+ 6. expected outputs)
# ---------------------------------------------------------------------------


def train_iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris()
    # lbfgs is deterministic; random_state pinned anyway for safety.
    clf = LogisticRegression(max_iter=1000, C=1.0, solver="lbfgs", random_state=0)
    clf.fit(data.data, data.target)
    print(f"iris: training accuracy {clf.score(data.data, data.target):.3f}")
    # sklearn stores coef_ as [classes, features]; MatMul wants [features, classes].
    weights = clf.coef_.T.astype(np.float32)
    bias = clf.intercept_.astype(np.float32)
    return weights, bias


def build_iris(weights: np.ndarray, bias: np.ndarray) -> Path:
    nodes = [
        helper.make_node("MatMul", ["input", "W"], ["logits_mm"]),
        helper.make_node("Add", ["logits_mm", "B"], ["logits"]),
        # Softmax over the class axis so each row sums to 1.
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "iris_logreg",
        [tensor_info("input", TensorProto.FLOAT, ["batch", 4])],
        [tensor_info("probabilities", TensorProto.FLOAT, ["batch", 3])],
        initializer=[const("W", weights), const("B", bias)],
    )
    base = ROOT / "examples/iris"
    path = base / "models/iris/1/model.onnx"
    save_model(graph, path, "Iris multinomial logistic regression (sklearn), softmax probabilities.")
    write_json(base / "models/iris/model-settings.json", {"name": "iris", "runtime": "onnx"})
    write_json(base / "models/iris/labels.json", IRIS_LABELS)
    write_json(base / "input.json", {"instances": IRIS_SEED_ROWS})
    return path


def iris_expected(model_path: Path, weights: np.ndarray, bias: np.ndarray) -> None:
    from sklearn.datasets import load_iris

    data = load_iris()
    extra = [[round(float(v), 1) for v in data.data[i]] for i in IRIS_EXTRA_INDICES]
    input_rows = IRIS_SEED_ROWS + extra
    rows = np.array(input_rows, dtype=np.float32)
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        probs = sess.run(["probabilities"], {"input": rows})[0]
        tool = f"onnxruntime (Python) {ort.__version__}, CPUExecutionProvider"
    except ImportError:
        # Same math as the graph, in float32, so results match within ~1e-6.
        logits = rows @ weights + bias
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = exp / exp.sum(axis=1, keepdims=True)
        tool = f"numpy {np.__version__} (onnxruntime not installed)"
    probs = probs.astype(np.float32)
    expected = {
        "description": "Iris model outputs for cross-checking; rows 0-1 are examples/iris/input.json, "
        f"rows 2-6 are load_iris() rows {IRIS_EXTRA_INDICES}.",
        "model": "examples/iris/models/iris/1/model.onnx",
        "producedBy": tool,
        "generator": "scripts/gen_fixtures.py",
        "tolerance": 1e-5,
        "labels": IRIS_LABELS,
        # The decimal rows as written in input.json, not their float32 approximations.
        "inputs": input_rows,
        # float() on float32 gives the exact value the runtime returned.
        "probabilities": [[float(p) for p in row] for row in probs],
        "argmax": [int(i) for i in probs.argmax(axis=1)],
        "expectedClasses": [IRIS_LABELS[int(i)] for i in probs.argmax(axis=1)],
    }
    write_json(ROOT / "test/fixtures/iris-expected.json", expected)
    for row, p in zip(input_rows[:2], probs[:2]):
        print(f"iris: {row} -> {p.tolist()}")
    # The examples and docs rely on both seed rows being versicolor.
    assert (probs[:2].argmax(axis=1) == 1).all(), "seed rows must be classified as versicolor"


# ---------------------------------------------------------------------------
# 2. multi_io: two inputs, two outputs
# ---------------------------------------------------------------------------


def build_multi_io() -> None:
    nodes = [
        helper.make_node("Add", ["a", "b"], ["sum"]),
        helper.make_node("Sub", ["a", "b"], ["diff"]),
    ]
    graph = helper.make_graph(
        nodes,
        "multi_io",
        [
            tensor_info("a", TensorProto.FLOAT, ["batch", 2]),
            tensor_info("b", TensorProto.FLOAT, ["batch", 2]),
        ],
        [
            tensor_info("sum", TensorProto.FLOAT, ["batch", 2]),
            tensor_info("diff", TensorProto.FLOAT, ["batch", 2]),
        ],
    )
    save_model(graph, ROOT / "test/fixtures/models/multi_io/1/model.onnx", "sum = a + b, diff = a - b")


# ---------------------------------------------------------------------------
# 3. types: one input/output pair per datatype
# ---------------------------------------------------------------------------


def build_types() -> None:
    # (input, output, elem type, nodes, initializers); each pair gets its own dim name
    # so inputs of different lengths can be sent together.
    pairs = [
        ("i64", "i64_out", TensorProto.INT64,
         [helper.make_node("Mul", ["i64", "two_i64"], ["i64_out"])],
         [const("two_i64", np.array(2, dtype=np.int64))]),
        ("i32", "i32_out", TensorProto.INT32,
         [helper.make_node("Add", ["i32", "one_i32"], ["i32_out"])],
         [const("one_i32", np.array(1, dtype=np.int32))]),
        ("u8", "u8_out", TensorProto.UINT8,
         [helper.make_node("Identity", ["u8"], ["u8_out"])],
         []),
        ("f64", "f64_out", TensorProto.DOUBLE,
         [helper.make_node("Mul", ["f64", "half_f64"], ["f64_out"])],
         [const("half_f64", np.array(0.5, dtype=np.float64))]),
        ("flag", "flag_out", TensorProto.BOOL,
         [helper.make_node("Not", ["flag"], ["flag_out"])],
         []),
        ("f16", "f16_out", TensorProto.FLOAT16,
         [helper.make_node("Mul", ["f16", "two_f16"], ["f16_out"])],
         [const("two_f16", np.array(2, dtype=np.float16))]),
        ("text", "text_out", TensorProto.STRING,
         [helper.make_node("Identity", ["text"], ["text_out"])],
         []),
    ]  # fmt: skip
    inputs, outputs, nodes, inits = [], [], [], []
    for name, out, dtype, pair_nodes, pair_inits in pairs:
        inputs.append(tensor_info(name, dtype, [f"n_{name}"]))
        outputs.append(tensor_info(out, dtype, [f"n_{name}"]))
        nodes += pair_nodes
        inits += pair_inits
    graph = helper.make_graph(nodes, "types", inputs, outputs, initializer=inits)
    save_model(graph, ROOT / "test/fixtures/models/types/1/model.onnx", "One input/output pair per tensor datatype.")


# ---------------------------------------------------------------------------
# 4. scale: versions 1..3, y = x * version
# ---------------------------------------------------------------------------


def build_scale() -> None:
    for version in (1, 2, 3):
        graph = helper.make_graph(
            [helper.make_node("Mul", ["x", "factor"], ["y"])],
            f"scale_v{version}",
            [tensor_info("x", TensorProto.FLOAT, ["n"])],
            [tensor_info("y", TensorProto.FLOAT, ["n"])],
            initializer=[const("factor", np.array(version, dtype=np.float32))],
        )
        path = ROOT / f"test/fixtures/models/scale/{version}/model.onnx"
        save_model(graph, path, f"y = x * {version} (version {version})")


# ---------------------------------------------------------------------------
# 5. tiny CNN image classifier
# ---------------------------------------------------------------------------


def cnn_weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    conv_w = rng.normal(0.0, 0.5, size=(8, 3, 3, 3)).astype(np.float32)
    conv_b = rng.normal(0.0, 0.1, size=(8,)).astype(np.float32)
    fc_w = rng.normal(0.0, 1.0, size=(10, 8)).astype(np.float32)
    # A spread-out bias keeps near-black images from all tying on one class.
    fc_b = np.linspace(-0.5, 0.5, 10, dtype=np.float32)
    return {"conv_w": conv_w, "conv_b": conv_b, "fc_w": fc_w, "fc_b": fc_b}


def cnn_reference(w: dict[str, np.ndarray], image: np.ndarray) -> np.ndarray:
    # Numpy forward pass of the same graph, used to check class separation at build time.
    _, _, h, wd = image.shape
    oh, ow = (h - 3) // 2 + 1, (wd - 3) // 2 + 1
    patches = np.stack(
        [image[:, :, i : i + 2 * oh - 1 : 2, j : j + 2 * ow - 1 : 2] for i in range(3) for j in range(3)],
        axis=2,
    )  # [N, C, 9, oh, ow]
    kernel = w["conv_w"].reshape(8, 3, 9)
    conv = np.einsum("nckhw,fck->nfhw", patches, kernel) + w["conv_b"][None, :, None, None]
    pooled = np.maximum(conv, 0).mean(axis=(2, 3))
    return pooled @ w["fc_w"].T + w["fc_b"]


def build_cnn() -> None:
    w = cnn_weights()
    nodes = [
        # No padding: 224 -> 111 spatial, plenty for a smoke-test model.
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["conv"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["features"], axis=1),
        # transB=1 because fc_w is stored [out, in] like torch.nn.Linear.
        helper.make_node("Gemm", ["features", "fc_w", "fc_b"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_cnn",
        [tensor_info("input", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [tensor_info("logits", TensorProto.FLOAT, ["batch", 10])],
        initializer=[const(k, v) for k, v in w.items()],
    )
    base = ROOT / "examples/custom-model/model"
    save_model(graph, base / "classifier.onnx", "Tiny random-weight CNN (seed 1234) for examples; not trained.")
    write_json(base / "labels.json", CNN_LABELS)

    # Solid-colour images in [0, 1] must land on different classes, so demos show distinct outputs.
    colours = {"red": 0, "green": 1, "blue": 2}
    tops = {}
    for colour, channel in colours.items():
        image = np.zeros((1, 3, 224, 224), dtype=np.float32)
        image[:, channel] = 1.0
        tops[colour] = int(cnn_reference(w, image).argmax())
    print(f"cnn: top class per solid colour {tops}")
    assert tops["red"] != tops["blue"], "red and blue images must get different top classes"


def main() -> None:
    weights, bias = train_iris()
    iris_path = build_iris(weights, bias)
    iris_expected(iris_path, weights, bias)
    build_multi_io()
    build_types()
    build_scale()
    build_cnn()


if __name__ == "__main__":
    main()
