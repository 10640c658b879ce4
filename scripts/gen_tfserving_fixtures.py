#!/usr/bin/env python3
"""Generate the small ONNX models the TF Serving REST tests use (test/fixtures/tfserving/).

Run from anywhere:  python3 scripts/gen_tfserving_fixtures.py
Needs: numpy, onnx. Deterministic: fixed weights, no timestamps.

- linear/1, linear/2: y = x . w + b, x FLOAT [batch, 3], y FLOAT [batch, 1] (regression; version labels)
- mixed/1: two inputs with independent batch dims and three outputs, for row/columnar, b64 and NaN tests
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, checker, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test/fixtures/tfserving"

# Same pins as scripts/gen_fixtures.py: these load in onnxruntime-node 1.30 and older runtimes.
OPSET = 17
IR_VERSION = 8

LINEAR = {
    1: ([1.0, 2.0, 3.0], 0.5),
    2: ([-1.0, 0.5, 2.0], -1.0),
}


def save_model(graph: onnx.GraphProto, path: Path, doc: str) -> None:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tserve-gen-tfserving-fixtures",
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


def build_linear() -> None:
    for version, (weights, bias) in LINEAR.items():
        w = np.array(weights, dtype=np.float32).reshape(3, 1)
        b = np.array([bias], dtype=np.float32)
        graph = helper.make_graph(
            [
                helper.make_node("MatMul", ["x", "W"], ["xw"]),
                helper.make_node("Add", ["xw", "B"], ["y"]),
            ],
            f"linear_v{version}",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
            initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
        )
        save_model(graph, OUT / f"linear/{version}/model.onnx", f"y = x . {weights} + {bias} (version {version})")
    write_json(
        OUT / "linear/model-settings.json",
        {
            "name": "linear",
            "runtime": "onnx",
            "versionPolicy": {"all": {}},
            "versionLabels": {"stable": 1, "canary": 2},
            "features": ["a", "b", "c"],
        },
    )


def build_mixed() -> None:
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "two"], ["doubled"]),
            helper.make_node("ReduceSum", ["x", "axis1"], ["total"], keepdims=0),
            helper.make_node("Identity", ["text"], ["text_bytes"]),
            helper.make_node("Identity", ["text"], ["text_out"]),
        ],
        "mixed",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2]),
            helper.make_tensor_value_info("text", TensorProto.STRING, ["m"]),
        ],
        [
            helper.make_tensor_value_info("doubled", TensorProto.FLOAT, ["n", 2]),
            helper.make_tensor_value_info("total", TensorProto.FLOAT, ["n"]),
            helper.make_tensor_value_info("text_bytes", TensorProto.STRING, ["m"]),
            helper.make_tensor_value_info("text_out", TensorProto.STRING, ["m"]),
        ],
        initializer=[
            numpy_helper.from_array(np.array(2, dtype=np.float32), "two"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        ],
    )
    save_model(
        graph,
        OUT / "mixed/1/model.onnx",
        "doubled = 2x, total = sum(x, axis 1), text_bytes = text_out = text; x and text batch independently",
    )
    write_json(OUT / "mixed/model-settings.json", {"name": "mixed", "runtime": "onnx"})


def main() -> None:
    build_linear()
    build_mixed()


if __name__ == "__main__":
    main()
