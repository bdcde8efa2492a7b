"""The browser target's shared test setup: onnxruntime-web installed once per test run, and a
release whose model onnxruntime cannot load.

The assets are npm-installed by the same code as `dawg-bench latency --setup-browser`, into a folder
every xdist worker of the run shares (under a file lock), so CI exercises the install step too.
Without Chromium or npm the browser tests are skipped with the reason (scripts/install-system-deps.sh
installs Chromium; CI runs it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.latency.browser.assets import Assets, assets_dir, chromium_executable, install
from tests.conftest import shared_tmp_root


def shared_browser_assets(tmp_path_factory) -> Assets:
    from filelock import FileLock

    if chromium_executable() is None:
        pytest.skip("Chromium is not installed (scripts/install-system-deps.sh installs it)")
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: it installs onnxruntime-web")
    root = shared_tmp_root(tmp_path_factory)
    with FileLock(str(root / "browser-assets.lock")):
        return install(root / "browser-assets" / assets_dir().name, log=lambda line: None)


def link_assets(home: Path, assets: Assets) -> None:
    """Make `home` (a DAWG_BENCH_HOME) see the shared install where the CLI looks for it."""
    link = home / "browser" / assets_dir().name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(assets.dist.parents[2], target_is_directory=True)


def build_unloadable_release(root: Path, name: str = "fixture-unloadable-v1") -> Path:
    """An eq release whose FP32 model uses an operator no runtime has (a made-up domain)."""
    import onnx
    from onnx import TensorProto, helper

    from harness.controller_inputs import FEATURES, feature_size
    from harness.tasks import get_task

    folder = root / "eq" / name
    folder.mkdir(parents=True)
    n_in = feature_size("eq")
    specs = type(get_task("eq").controlled()).SPECS
    graph = helper.make_graph(
        [helper.make_node("NoSuchOp", ["features"], ["unit_params"], domain="dawg.bench.missing")], "unloadable",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, n_in])],
        [helper.make_tensor_value_info("unit_params", TensorProto.FLOAT, [None, len(specs)])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("dawg.bench.missing", 1)],
                              ir_version=10)  # what the runtimes read: the operator must be the only problem
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "release.json").write_text(json.dumps({
        "name": name, "task": "eq", "version": 1, "created_at": "test", "features": FEATURES,
        "params": [s.name for s in specs], "files": {"fp32": "model.onnx"}, "fixture": True,
        "card": {"note": "an operator no runtime has: a test fixture"}}))
    return folder
