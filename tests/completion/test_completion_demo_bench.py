"""``benchmarks/bench_completion.py --demo`` at toy size: synth -> depth scans -> fit (2 steps) ->
training-free and conditional completion -> PVD's metrics with the two references, the table and the
picture; a re-run reuses the collection and both models; ``make demo``'s model is reused only for the same
collection.

The ``gen3d`` commands run in-process (``_cli.run_gen3d`` replaced) so the test takes seconds, not the
subprocess start-ups of the real benchmark."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

TOY = ["--demo", "--per-category", "3", "--categories", "mug,table", "--points", "64", "--workers", "1",
       "--steps", "2", "--set", "data.n_points=64", "--set", "data.batch_size=2",
       "--set", "trainer.accelerator=cpu", "--inputs", "2", "--k", "2", "--observed", "16",
       "--sampling-steps", "2", "--conditional-steps", "2"]  # fmt: skip


@pytest.fixture
def bench(monkeypatch, tmp_path):
    """(bench_completion, bench_completion_demo, the gen3d commands run) with commands run in-process, in a
    folder without runs/demo."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.chdir(tmp_path)
    import _cli
    import bench_completion
    import bench_completion_demo

    from gen3d.cli import main

    calls: list[str] = []

    def in_process(*args: str) -> float:
        calls.append(args[0])
        t = time.perf_counter()
        assert main(list(args)) == 0, args
        return time.perf_counter() - t

    monkeypatch.setattr(_cli, "run_gen3d", in_process)
    return bench_completion, bench_completion_demo, calls


@pytest.mark.slow  # 9 s on 2 idle cores, about 20 s loaded: a real prepare and 2-step fit
def test_demo_mode_end_to_end_at_toy_size_and_rerun_reuses(bench, tmp_path, capsys):
    bench_completion, _, calls = bench
    out = tmp_path / "out"
    assert bench_completion.main([*TOY, "--out", str(out)]) == 0
    steps = ["synth", "prepare", "fit", "complete", "complete-train", "complete", "evaluate", "evaluate"]
    assert calls == steps
    text = capsys.readouterr().out
    assert "model: trained here" in text and "= 3 NFE per completion" in text  # heun, 2 steps
    table = json.loads((out / "table.json").read_text())
    assert list(table["results"]) == ["padded partial", "nearest train", "training-free", "conditional"]
    for name, r in table["results"].items():
        assert r["n_inputs"] == 2 and r["n_points"] == 64, name
        assert r["k"] == (1 if name == "nearest train" else 2), name
        values = [r["cd"]["best_of_k"], r["cd"]["mean_of_k"], r["emd"]["best_of_k"], r["fidelity_uhd"]]
        assert all(math.isfinite(v) and v >= 0 for v in values), name
        assert name in text
    assert table["model"]["steps"] == 2 and table["conditional"]["steps"] == 2
    assert len({k.split("/")[0] for k in table["inputs"]}) == 2  # one input per category
    assert (out / "completions.png").stat().st_size > 0 and (out / "training_free_samples.npz").is_file()

    calls.clear()  # the same command again: data, model and conditional model reused
    assert bench_completion.main([*TOY, "--out", str(out)]) == 0
    assert calls == ["prepare", "complete", "complete", "evaluate", "evaluate"]
    assert "trained earlier" in capsys.readouterr().out


def test_make_demos_model_is_reused_only_for_its_own_collection(bench, tmp_path, monkeypatch, capsys):
    import _cli
    import torch

    _, demo, calls = bench
    ckpt = tmp_path / "runs" / "demo" / demo.DEMO_CKPT
    ckpt.parent.mkdir(parents=True)
    torch.save({"global_step": 7}, ckpt)
    collection = {"per_category": 40, "seed": 0, "categories": None}
    (tmp_path / "runs" / "demo" / "data").mkdir()
    (tmp_path / "runs" / "demo" / "data" / "synth_done.json").write_text(json.dumps(collection))
    trained = tmp_path / "trained.ckpt"
    monkeypatch.setattr(_cli, "fit_to_budget", lambda *a: (trained, 90.0, 3))

    args = demo._parser().parse_args([])
    path, model = demo._model(args, tmp_path / "out", tmp_path / "cache", collection)
    assert path == Path("runs/demo") / demo.DEMO_CKPT
    assert model["steps"] == 7 and "make demo's" in model["source"]
    path, model = demo._model(args, tmp_path / "out", tmp_path / "cache", {**collection, "per_category": 3})
    assert path == trained and model == {"steps": 3, "minutes": 1.5, "source": f"trained here ({trained})"}
    assert "not reusing" in capsys.readouterr().out
    args = demo._parser().parse_args(["--train"])
    assert demo._model(args, tmp_path / "out2", tmp_path / "cache", collection)[0] == trained
    assert calls == []
