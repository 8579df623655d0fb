"""PNG plots of a diagnosis report (matplotlib, Agg backend, imported inside the functions): curves against
sigma on a log axis with sigma_S and sigma_C marked, near-copy ratio histograms against the held-out null,
likelihood histograms. Each function writes one file atomically and returns its path."""

from __future__ import annotations

import os
from pathlib import Path

from gen3d.atomic import atomic_path
from gen3d.diagnostics.common import SNAP_RATIO
from gen3d.diagnostics.report import applies

__all__ = ["plot_all"]


def _figure(ncols: int):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.8), squeeze=False)
    return plt, fig, axes[0]


def _marks(ax, summary: dict) -> None:
    for key, colour, label in (("sigma_S", "tab:red", "σ_S"), ("sigma_C", "tab:purple", "σ_C")):
        v = summary.get(key)
        if v:
            ax.axvline(v, color=colour, ls="--", lw=1, label=f"{label} = {v:.3g}")


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def plot_info(report: dict, path: Path) -> Path:
    info, s = report["info"], report["summary"]
    plt, fig, (a, b, g) = _figure(3)
    for split, style in (("heldout", "-o"), ("train", "--s")):
        c = info[split]
        a.plot(c["sigmas"], c["C"], style, ms=3, label=f"C(σ) {split}")
        b.plot(c["sigmas"], c["I"], style, ms=3, label=f"I(σ) {split}")
    b.axhline(info["ln_N"], color="gray", lw=1, label=f"ln N = {info['ln_N']:.2f}")
    for ax, name in ((a, "C(σ) = E‖y − D‖²/σ²  [nats]"), (b, "I(σ) = ∫ C dln(1/σ)  [nats]")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("σ")
        ax.set_ylabel(name)
        _marks(ax, s)
        ax.legend(fontsize=7)
    held, train = info["heldout"], info["train"]
    n = min(len(held["C"]), len(train["C"]))
    rel = [t / h - 1.0 for t, h in zip(train["C"][:n], held["C"][:n])]
    err = [
        2 * ((et / h) ** 2 + (t * eh / h**2) ** 2) ** 0.5
        for t, h, et, eh in zip(train["C"][:n], held["C"][:n], train["C_se"][:n], held["C_se"][:n])
    ]
    g.errorbar(held["sigmas"][:n], rel, yerr=err, fmt="-o", ms=3, label="C_train / C_heldout − 1 (±2 s.e.)")
    g.axhline(0.0, color="gray", lw=1)
    g.set_xscale("log")
    g.set_xlabel("σ")
    g.set_ylabel("relative gap")
    g.set_title("denoising gap (below 0: memorisation)")
    _marks(g, s)
    g.legend(fontsize=7)
    a.set_title("information rate (bump: speciation)")
    b.set_title("information I(σ)")
    return _save(plt, fig, path)


def plot_commitment(report: dict, path: Path) -> Path:
    c, s = report["commitment"], report["summary"]
    plt, fig, (a,) = _figure(1)
    a.errorbar(
        c["sigmas"],
        c["kappa"],
        yerr=[e / (1 - c["floor"]) for e in c["phi_se"]],
        fmt="-o",
        ms=3,
        label=f"κ(σ), {c['route']} route",
    )
    a.axhline(c["threshold"][1], color="gray", lw=1, label=f"threshold κ = {c['threshold'][1]:.3f}")
    a.set_xscale("log")
    a.set_xlabel("σ")
    a.set_ylabel("κ = (φ − Σπ²)/(1 − Σπ²)")
    a.set_title(f"class commitment ({c['num_classes']} classes)")
    _marks(a, s)
    a.legend(fontsize=7)
    return _save(plt, fig, path)


def plot_collapse(report: dict, path: Path) -> Path:
    c, s = report["collapse"], report["summary"]
    plt, fig, (a, b) = _figure(2)
    sig = [max(v, c["sigmas"][-2] / 2) for v in c["sigmas"]]  # the final samples (sigma 0) at the left edge
    a.plot(sig, c["p_snap_train"], "-o", ms=3, label="P_snap vs training shapes")
    a.plot(sig, c["p_snap_null"], "--s", ms=3, label="P_snap vs held-out null")
    a.axhline(0.5, color="gray", lw=1)
    a.set_xscale("log")
    a.set_ylim(-0.03, 1.03)
    a.set_xlabel("σ (leftmost: final samples)")
    a.set_ylabel("share with d1/d2 < 1/3")
    a.set_title("collapse scan along generated trajectories")
    _marks(a, s)
    a.legend(fontsize=7)
    bins = [i / 40 for i in range(41)]
    b.hist(c["final_ratio_train"], bins=bins, alpha=0.6, label="samples vs training")
    b.hist(c["final_ratio_null"], bins=bins, alpha=0.6, label="samples vs held-out (null)")
    b.hist(c["data_ratio"], bins=bins, histtype="step", color="k", label="held-out shapes vs training")
    b.axvline(SNAP_RATIO, color="tab:red", ls="--", lw=1, label="near-copy rule 1/3")
    b.set_xlabel("d1 / d2 (nearest / second-nearest set distance)")
    b.set_ylabel("shapes")
    b.set_title(f"near copies: {c['near_copy_fraction']:.0%} vs null {c['near_copy_fraction_null']:.0%}")
    b.legend(fontsize=7)
    return _save(plt, fig, path)


def plot_likelihood(report: dict, path: Path) -> Path:
    lk = report["likelihood"]
    plt, fig, (a,) = _figure(1)
    for split in ("heldout", "train"):
        d = lk[split]["dim"]
        a.hist([v / d for v in lk[split]["logp"]], bins=12, alpha=0.6, label=f"{split}")
    a.set_xlabel("PF-ODE log-likelihood per dimension [nats]")
    a.set_ylabel("shapes")
    a.set_title("likelihood (train above held-out: memorisation)")
    a.legend(fontsize=7)
    return _save(plt, fig, path)


def plot_all(report: dict, out_dir: str | os.PathLike) -> list[Path]:
    """Every plot the report has data for, as PNGs in ``out_dir`` (none for an estimator marked not
    applicable)."""
    out = Path(out_dir)
    paths = []
    for key, fn in (
        ("info", plot_info),
        ("commitment", plot_commitment),
        ("collapse", plot_collapse),
        ("likelihood", plot_likelihood),
    ):
        if applies(report, key):
            paths.append(fn(report, out / f"{key}.png"))
    return paths
