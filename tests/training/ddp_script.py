"""Two-process DDP run on CPU (gloo), launched by test_training_ddp.py as ``python ddp_script.py OUT_DIR``.

Lightning's DDP launcher re-runs this script for rank 1. Each rank writes ``rank<k>.json`` with the dataset
indices it trained on and checksums of its final weights and EMA weights.
"""

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lightning as L  # noqa: E402
from standins import InMemoryDataModule, state_checksum  # noqa: E402

from gen3d.config import load_config  # noqa: E402
from gen3d.training.components import build_module, build_trainer  # noqa: E402


class RecordIndices(L.Callback):
    def __init__(self):
        self.seen = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.seen.extend(batch["index"].tolist())


def main(out: Path) -> None:
    torch.set_num_threads(1)
    cfg = load_config(
        "demo_points",
        [
            f"experiment.run_dir={out}",
            "experiment.name=ddp",
            "experiment.class_names=[a, b]",
            "data.cache_dir=unused",
            "data.batch_size=4",
            "data.n_points=32",
            "net.size=tiny",
            "trainer.max_steps=3",
            "trainer.devices=2",
            "trainer.strategy=ddp_cpu_gloo",
            "trainer.accelerator=cpu",
            "trainer.checkpoint_every_n_steps=3",
            "trainer.sample_every_n_steps=0",
            "trainer.enable_progress_bar=false",
        ],
    )
    dm = InMemoryDataModule(shape=(32, 3), count=32, num_classes=2, batch_size=4, epoch_sampler=True)
    module, cfg = build_module(cfg, dm)
    rec = RecordIndices()
    trainer = build_trainer(cfg, callbacks=[rec], enable_model_summary=False)
    trainer.fit(module, datamodule=dm)
    result = {
        "rank": trainer.global_rank,
        "world": trainer.world_size,
        "step": trainer.global_step,
        "seen": rec.seen,
        "weights": state_checksum(module.denoiser),
        "ema": float(sum(v.double().sum() for v in module.ema.shadow.values())),
    }
    (out / f"rank{trainer.global_rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
