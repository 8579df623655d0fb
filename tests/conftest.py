"""Session-wide test settings: one torch thread per xdist worker, so two workers share two cores fairly."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)
