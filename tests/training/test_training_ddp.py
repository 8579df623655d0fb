"""Scale-out: the same config trains with Lightning DDP (2 CPU processes, gloo); ranks see disjoint data and
end with identical weights and EMA."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow  # two fresh Python processes importing torch + lightning
def test_ddp_two_processes_cpu(tmp_path):
    script = Path(__file__).with_name("ddp_script.py")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{k}.json").read_text()) for k in (0, 1))
    assert r0["world"] == r1["world"] == 2 and r0["step"] == r1["step"] == 3
    assert len(r0["seen"]) == len(r1["seen"]) == 12  # 3 steps x batch 4 per rank
    assert set(r0["seen"]).isdisjoint(r1["seen"])
    assert r0["weights"] == r1["weights"] and r0["ema"] == r1["ema"]
    assert (tmp_path / "ddp" / "checkpoints" / "last.ckpt").is_file()
