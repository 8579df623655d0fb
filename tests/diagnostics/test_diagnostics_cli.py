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
        "--batch-size",
        "2",  # one batch shape: every new shape costs the CPU kernels a warm-up
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


def test_diagnose_voxel_pfgmpp_model(tiny_voxel_ckpt, tiny_cache, tmp_path):
    # grids (B, 1, 8, 8, 8) and a non-Gaussian kernel: I(sigma) is flagged, the prior is the PFGM++ kernel
    out = tmp_path / "vox"
    argv = [
        "diagnose",
        "--ckpt",
        str(tiny_voxel_ckpt),
        "--data",
        str(tiny_cache),
        "--out",
        str(out),
        "--budget",
        "50",
        "--no-progress",
        "--no-plots",
        "--levels",
        "3",
        "--likelihood-steps",
        "2",
        "--what",
        "info,likelihood",
        "--batch-size",
        "2",
    ]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["shape"] == [1, 8, 8, 8] and report["gaussian_kernel"] is False
    assert report["info"]["heldout"]["gaussian_identity"] is False
    assert all(v is not None for v in report["likelihood"]["heldout"]["logp"])
    assert "not Gaussian" in (out / "summary.md").read_text()
