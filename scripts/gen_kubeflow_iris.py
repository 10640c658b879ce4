#!/usr/bin/env python3
"""Build the Kubeflow seed's uploadable packages for examples/kubeflow-iris/.

Run from anywhere:  python3 scripts/gen_kubeflow_iris.py
Needs: torch (CPU), numpy, onnx, scikit-learn.

1. iris.tar.gz      - TF-Serving layout, as the seed packs it (`tar -czvf iris.tar.gz 0001`):
                      a numbered version folder 0001/ holding the iris ONNX model tserve's own
                      example serves (examples/iris/models/iris/1/model.onnx).
2. iris-pytorch.tgz - a PyTorch model exported to ONNX, packed as the seed's PyTorch server wants
                      (`tar czvf iris.tgz *`: files at the archive root): model.onnx + model-settings.json.

The PyTorch model: a 4-16-3 MLP with softmax, trained on the iris data set with a fixed seed, exported with
torch.onnx.export (dynamic batch dimension, opset 17). Archives are deterministic (sorted, mtime 0, uid 0).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import onnx
import torch
from sklearn.datasets import load_iris

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "examples" / "kubeflow-iris" / "packages"
SEED_ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]


class IrisNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # probabilities, as the seed's answer shows
        return torch.softmax(self.layers(x), dim=1)


def train() -> IrisNet:
    torch.manual_seed(0)
    data = load_iris()
    x = torch.tensor(data.data, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.long)
    net = IrisNet()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(net(x) + 1e-9), y)
        loss.backward()
        opt.step()
    acc = (net(x).argmax(dim=1) == y).float().mean().item()
    print(f"pytorch iris: training accuracy {acc:.3f}")
    return net


def export_onnx(net: IrisNet) -> bytes:
    net.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        net,
        (torch.zeros(1, 4),),
        buf,
        input_names=["input"],
        output_names=["probabilities"],
        dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    model = onnx.load_from_string(buf.getvalue())
    model.producer_name = "pytorch"
    model.producer_version = torch.__version__.split("+")[0]
    onnx.checker.check_model(model)
    return model.SerializeToString()


def tar_gz(path: Path, files: dict[str, bytes], dirs: list[str]) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(files[name]))
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    iris_onnx = (ROOT / "examples" / "iris" / "models" / "iris" / "1" / "model.onnx").read_bytes()
    tar_gz(OUT / "iris.tar.gz", {"0001/model.onnx": iris_onnx}, ["0001"])

    net = train()
    with torch.no_grad():
        expected = net(torch.tensor(SEED_ROWS, dtype=torch.float32)).numpy().astype(np.float64).tolist()
    settings = {"name": "iris-pytorch", "runtime": "onnx"}
    tar_gz(
        OUT / "iris-pytorch.tgz",
        {"model.onnx": export_onnx(net), "model-settings.json": (json.dumps(settings, indent=2) + "\n").encode()},
        [],
    )
    (OUT / "iris-pytorch-expected.json").write_text(json.dumps({"instances": SEED_ROWS, "predictions": expected}, indent=2) + "\n")
    print("pytorch predictions for the seed rows:", expected)


if __name__ == "__main__":
    main()
