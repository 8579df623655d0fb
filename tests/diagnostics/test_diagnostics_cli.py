"""``gen3d diagnose`` end to end on a tiny checkpoint and cache: report.json, summary.md and the plots."""

import json

from gen3d.cli import main


def test_diagnose_writes_report_and_plots(tiny_points_ckpt, tiny_cache, tmp_path, capsys):
    out = tmp_path / "report"
    argv = [
        "diagnose",
        "--ckpt",
        str(tiny_points_ckpt),
        "--data",
        str(tiny_cache),
        "--budget",
        "100",
        "--out",
        str(out),
        "--no-progress",
        "--levels",
        "4",
        "--uturn-steps",
        "3",
        "--likelihood-steps",
        "3",
        "--steps",
        "3",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "network evaluations" in text and "sigma_S" in text
    report = json.loads((out / "report.json").read_text())
    assert {"info", "commitment", "collapse", "likelihood", "summary"} <= set(report)
    info = report["info"]
    assert info["train"]["split"] == "train" and info["heldout"]["split"] != "train"
    assert len(info["heldout"]["C"]) == report["plan"]["info_levels"] == 4
    assert report["commitment"]["route"] == "uturn"  # the tiny model is unconditional: k-means classes
    assert 0.0 <= report["collapse"]["near_copy_fraction"] <= 1.0
    assert report["nfe_total"] == sum(c["nfe"] for c in report["cost"].values())
    for name in ("info", "commitment", "collapse", "likelihood"):
        assert (out / f"{name}.png").stat().st_size > 1000
    assert "σ_S" in (out / "summary.md").read_text()


def test_diagnose_refuses_bad_arguments(tiny_points_ckpt, tmp_path, capsys):
    argv = ["diagnose", "--ckpt", str(tiny_points_ckpt), "--data", str(tmp_path), "--what", "info,entropy"]
    assert main(argv) == 2
    assert "--what takes" in capsys.readouterr().err
    assert main(["diagnose", "--ckpt", str(tiny_points_ckpt), "--budget", "lots"]) == 2
    assert "--budget" in capsys.readouterr().err
