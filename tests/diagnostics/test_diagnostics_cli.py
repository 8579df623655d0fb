"""``gen3d diagnose`` end to end on a tiny checkpoint and cache: report.json, summary.md and the plots; PFGM++
on grids and a trained Yukawa model (estimators that do not apply are reported so)."""

import json
import math

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


def test_diagnose_trained_yukawa_model(tiny_yukawa_ckpt, tiny_cache, tmp_path, capsys):
    # Yukawa regresses y + κ_s (x - y), not y: the information curve and the U-turn route (the route of an
    # unconditional model) are reported as not applicable and cost nothing; the collapse scan and the
    # likelihood (prior: the normal-inverse-Gaussian kernel at sigma_max) give finite numbers
    out = tmp_path / "yuk"
    argv = [
        "diagnose",
        "--ckpt",
        str(tiny_yukawa_ckpt),
        "--data",
        str(tiny_cache),
        "--out",
        str(out),
        "--budget",
        "100",
        "--no-progress",
        "--likelihood-steps",
        "3",
        "--steps",
        "3",
        "--batch-size",
        "2",
    ]
    assert main(argv) == 0
    assert "not applicable to yukawa" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["process"]["name"] == "yukawa" and report["clean_target"] is False
    for key in ("info", "commitment"):
        assert report[key]["applicable"] is False and "yukawa" in report[key]["reason"]
        assert report["cost"][key]["nfe"] == 0 and not (out / f"{key}.png").exists()
    assert report["summary"]["not_applicable"] == ["info", "commitment"]
    c = report["collapse"]
    assert c["near_copy_fraction"] is not None and 0.0 <= c["near_copy_fraction"] <= 1.0
    assert any("own target" in n for n in c["notes"])
    lk = report["likelihood"]
    for split in ("heldout", "train"):
        vals = lk[split]["logp"] + lk[split]["prior"] + lk[split]["stderr"]
        assert vals and all(v is not None and math.isfinite(v) for v in vals)
        assert any("yukawa's prior" in n for n in lk[split]["notes"])
    assert all(math.isfinite(v) for v in report["summary"]["log_likelihood_nats_per_dim"].values())
    assert report["nfe_total"] == sum(c["nfe"] for c in report["cost"].values()) > 0
    for name in ("collapse", "likelihood"):
        assert (out / f"{name}.png").stat().st_size > 1000
    summary = (out / "summary.md").read_text()
    assert summary.count("| not applicable |") == 2 and "regresses its own target" in summary
