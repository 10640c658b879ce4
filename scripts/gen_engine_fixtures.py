#!/usr/bin/env python3
"""Generate the compute-heavy ONNX model that the inference-engine tests and benches use.

Run from anywhere:  python3 scripts/gen_engine_fixtures.py
Needs: numpy, onnx; onnxruntime is optional and only used to check the model once.

Writes test/fixtures/models/mlp/model.onnx: an FP32 MLP
    x float32 [batch, 256] -> MatMul 256x1024 + Add -> Relu -> MatMul 1024x1024 + Add -> Relu
      -> MatMul 1024x10 + Add -> y float32 [batch, 10]
with deterministic weights (numpy seed 0), about 5 MB. A batch of 64 rows is ~170 MFLOP: enough work that
a run visibly occupies its thread, which is what the worker-pool tests need.

The output is deterministic: fixed seed, no timestamps. Re-running gives a byte-identical file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, checker, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent

# Same as gen_fixtures.py: opset 17 / IR 8 load in onnxruntime-node 1.30 and in older runtimes too.
OPSET = 17
IR_VERSION = 8

SIZES = [256, 1024, 1024, 10]


def weights() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        # He initialisation keeps activations in a sane range through the Relus.
        w = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        b = (rng.standard_normal(fan_out) * 0.01).astype(np.float32)
        layers.append((w, b))
    return layers


def build_mlp() -> onnx.ModelProto:
    layers = weights()
    nodes = []
    inits = []
    current = "x"
    for i, (w, b) in enumerate(layers):
        inits += [numpy_helper.from_array(w, name=f"w{i}"), numpy_helper.from_array(b, name=f"b{i}")]
        last = i == len(layers) - 1
        nodes.append(helper.make_node("MatMul", [current, f"w{i}"], [f"mm{i}"], name=f"matmul{i}"))
        out = "y" if last else f"z{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"b{i}"], [out], name=f"add{i}"))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"], name=f"relu{i}"))
            out = f"h{i}"
        current = out
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", SIZES[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", SIZES[-1]])],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tserve-gen-engine-fixtures"
    )
    model.ir_version = IR_VERSION
    checker.check_model(model, full_check=True)
    return model


def reference(x: np.ndarray) -> np.ndarray:
    h = x
    layers = weights()
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h


def check(path: Path) -> None:
    x = np.random.default_rng(1).standard_normal((64, SIZES[0])).astype(np.float32)
    expected = reference(x)
    try:
        import onnxruntime as ort
    except ImportError:
        print("  (onnxruntime not installed: skipped the run check)")
        return
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(["y"], {"x": x})
    if y.shape != (64, SIZES[-1]):
        raise SystemExit(f"unexpected output shape {y.shape}")
    if not np.allclose(y, expected, rtol=1e-4, atol=1e-4):
        raise SystemExit(f"onnxruntime and numpy disagree: max diff {np.abs(y - expected).max()}")
    print(f"  checked with onnxruntime {ort.__version__}: batch 64 matches numpy")


def main() -> None:
    path = ROOT / "test/fixtures/models/mlp/model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_mlp().SerializeToString())
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")
    check(path)


if __name__ == "__main__":
    main()
