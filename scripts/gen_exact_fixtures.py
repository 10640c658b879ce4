#!/usr/bin/env python3
"""Generate the identity models that check tserve carries values exactly (string bytes, 64-bit integers).

Run from anywhere:  python3 scripts/gen_exact_fixtures.py
Needs: onnx (no numpy arrays are stored: the graphs are plain Identity nodes).

Outputs (deterministic, no timestamps):
  test/fixtures/models/strings/1/model.onnx    text STRING [n] -> Identity -> text_bytes STRING [n]
  test/fixtures/models/wide_ints/1/model.onnx  i64 INT64 [n_i64] -> i64_out, u64 UINT64 [n_u64] -> u64_out,
                                               f32 FLOAT [n_f32] -> f32_out (each an Identity)
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, checker, helper

ROOT = Path(__file__).resolve().parent.parent

# The same opset / IR version as gen_fixtures.py: they load in onnxruntime-node 1.30.
OPSET = 17
IR_VERSION = 8


def save_model(graph: onnx.GraphProto, path: Path, doc: str) -> None:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tserve-gen-exact-fixtures",
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def identity_graph(name: str, pairs: list[tuple[str, str, int]]) -> onnx.GraphProto:
    # Each pair gets its own dynamic dimension, so inputs of different lengths can be sent together.
    nodes = [helper.make_node("Identity", [src], [dst]) for src, dst, _ in pairs]
    inputs = [helper.make_tensor_value_info(src, t, [f"n_{src}"]) for src, _, t in pairs]
    outputs = [helper.make_tensor_value_info(dst, t, [f"n_{src}"]) for src, dst, t in pairs]
    return helper.make_graph(nodes, name, inputs, outputs)


def main() -> None:
    # The output's name ends in _bytes, so TF Serving's REST API answers it as {"b64": ...}: exact bytes back.
    save_model(
        identity_graph("strings", [("text", "text_bytes", TensorProto.STRING)]),
        ROOT / "test/fixtures/models/strings/1/model.onnx",
        "A string tensor in, the same string tensor out.",
    )
    save_model(
        identity_graph(
            "wide_ints",
            [
                ("i64", "i64_out", TensorProto.INT64),
                ("u64", "u64_out", TensorProto.UINT64),
                ("f32", "f32_out", TensorProto.FLOAT),
            ],
        ),
        ROOT / "test/fixtures/models/wide_ints/1/model.onnx",
        "INT64, UINT64 and FLOAT inputs, each returned unchanged.",
    )


if __name__ == "__main__":
    main()
