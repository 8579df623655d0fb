"""The README's main job at toy scale: synth → prepare → fit → sample → evaluate → render → export,
in-process, then a re-run that reuses everything on disk."""

import json

import numpy as np
import pytest
from PIL import Image

from gen3d.cli import main
from gen3d.sample_file import load_samples


@pytest.mark.slow
def test_demo_runs_end_to_end_and_resumes(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = [
        "demo",
        "--out",
        str(out),
        "--per-category",
        "10",
        "--categories",
        "chair,table",
        "--max-steps",
        "3",
        "--steps",
        "2",
        "--gallery-per-class",
        "2",
        "--workers",
        "1",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    for label in ("checkpoint", "gallery picture", "scores (JSON)", "meshes"):
        assert label in text

    gallery = load_samples(out / "samples" / "gallery.npz")
    assert gallery.points.shape[0] == 4 and np.isfinite(gallery.points).all()
    assert sorted(set(gallery.meta["titles"])) == ["chair", "table"]
    result = json.loads((out / "eval.json").read_text())
    assert {"cd", "emd"} <= set(result["metrics"]) and result["n_ref"] >= 1
    img = np.asarray(Image.open(out / "gallery.png").convert("L"))
    assert img.min() < 200 and img.max() > 240  # something drawn on a light background
    report = json.loads((out / "meshes" / "report.json").read_text())
    assert len(report["shapes"] if isinstance(report, dict) else report) == 2

    # a second run reuses the collection, the cache and the finished training run
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "reusing" in text and "up to date" in text
