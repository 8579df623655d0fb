"""Rendered pictures, exported meshes and evaluation inputs on URLs, through the CLI against the moto S3
server: ``gen3d render s3://... --out s3://...``, ``gen3d export --out s3://...``, ``gen3d evaluate s3://...
s3://...`` (a URL that is no sample file is refused as samples in one line; prepared caches at URLs are in
``test_storage_caches.py``)."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.sample_file import SampleFile, save_samples
from gen3d.storage.transfer import exists, list_names, read_bytes
from tests.viz.conftest import offscreen  # noqa: F401  (fixture reused: fails when the backend is missing)

pytestmark = pytest.mark.xdist_group("storage_s3")


def _points(seed: int, n: int = 4) -> SampleFile:
    rng = np.random.default_rng(seed)
    return SampleFile(points=rng.normal(size=(n, 64, 3)).astype(np.float32), seeds=np.arange(n))


def _spheres() -> SampleFile:
    """Two occupancy grids 16^3: balls of radius 5 and 6 voxels."""
    ijk = np.stack(np.meshgrid(*[np.arange(16)] * 3, indexing="ij"), -1) - 7.5
    r = np.linalg.norm(ijk, axis=-1)
    grids = np.stack([(r < 5).astype(np.float32), (r < 6).astype(np.float32)])[:, None]
    return SampleFile(voxels=grids, seeds=np.array([3, 4]))


@pytest.mark.usefixtures("offscreen")
def test_render_reads_samples_from_and_writes_a_png_to_a_bucket(bucket, tmp_path, capfd):
    from PIL import Image

    save_samples(f"{bucket}/in/s.npz", _points(0, 2))
    url = f"{bucket}/pictures/gallery.png"
    assert main(["render", f"{bucket}/in/s.npz", "--out", url, "--size", "64"]) == 0
    assert f"wrote {url}" in capfd.readouterr().out  # printed by the child process that rendered
    img = np.asarray(Image.open(io.BytesIO(read_bytes(url))))
    assert img.shape[:2] == (64, 128) and (img[..., :3] < 200).any()  # two tiles, something drawn
    assert list_names(f"{bucket}/pictures") == ["gallery.png"]  # no temporary object left behind


def test_a_mesh_url_is_loaded_for_rendering_under_its_own_name(bucket, tmp_path):
    import trimesh

    from gen3d.storage.transfer import upload_file
    from gen3d.viz.loaders import load_shapes

    trimesh.creation.box((1, 2, 3)).export(tmp_path / "box.obj")
    upload_file(tmp_path / "box.obj", f"{bucket}/in/box.obj")
    shape_set = load_shapes(f"{bucket}/in/box.obj")
    assert shape_set.titles == ["box"] and len(shape_set.shapes[0].vertices) == 8


def test_animations_go_to_urls_whole(tmp_path):
    import uuid

    import imageio.v3 as iio

    from gen3d.errors import UserInputError
    from gen3d.viz.animate import save_animation

    root = f"memory://gen3d-anim-{uuid.uuid4().hex}"
    frames = [np.full((8, 10, 3), 40 * k, np.uint8) for k in range(3)]
    assert save_animation(frames, f"{root}/a.gif", fps=5) == f"{root}/a.gif"
    assert iio.imread(read_bytes(f"{root}/a.gif"), extension=".gif", index=None).shape[:3] == (3, 8, 10)
    assert save_animation(frames, f"{root}/strip.png") == f"{root}/strip.png"
    assert iio.imread(read_bytes(f"{root}/strip.png"), extension=".png").shape[:2] == (8, 30)
    with pytest.raises(UserInputError, match="got a.webp"):
        save_animation(frames, f"{root}/a.webp")
    assert not exists(f"{root}/a.webp")


def test_export_writes_every_mesh_and_the_report_under_a_url(bucket, tmp_path, capsys):
    import trimesh

    save_samples(tmp_path / "g.npz", _spheres())
    out = f"{bucket}/meshes/"
    assert main(["export", str(tmp_path / "g.npz"), "--out", out, "--format", "obj"]) == 0
    printed = capsys.readouterr().out
    assert "[0] shape_0000_seed3.obj:" in printed and "exported 2 of 2 shapes" in printed
    assert list_names(out) == ["report.json", "shape_0000_seed3.obj", "shape_0001_seed4.obj"]
    report = json.loads(read_bytes(f"{bucket}/meshes/report.json"))
    assert report["exported"] == 2
    assert report["shapes"][1]["path"] == f"{bucket}/meshes/shape_0001_seed4.obj"
    mesh = trimesh.load(io.BytesIO(read_bytes(report["shapes"][1]["path"])), file_type="obj", force="mesh")
    assert mesh.is_watertight and 0.7 < mesh.extents.max() / 2 < 0.9  # radius 6 voxels of 2/16 each

    # the same meshes as a local export, byte for byte
    assert main(["export", str(tmp_path / "g.npz"), "--out", str(tmp_path / "m"), "--format", "obj"]) == 0
    local = (tmp_path / "m" / "shape_0000_seed3.obj").read_bytes()
    assert read_bytes(f"{bucket}/meshes/shape_0000_seed3.obj") == local


def test_export_to_a_missing_bucket_fails_before_meshing(s3, tmp_path, capsys):
    save_samples(tmp_path / "g.npz", _spheres())
    assert main(["export", str(tmp_path / "g.npz"), "--out", "s3://gen3d-no-such-bucket/m"]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "no such bucket 'gen3d-no-such-bucket'" in lines[0]
    assert "shape_0000" not in out.out


def test_evaluate_reads_sample_files_from_urls(bucket, tmp_path, capsys):
    for name, seed in (("gen", 1), ("ref", 2), ("train", 3)):
        save_samples(f"{bucket}/sets/{name}.npz", _points(seed))
        save_samples(tmp_path / f"{name}.npz", _points(seed))
    common = ["--bootstrap", "0", "--no-jsd", "--metrics", "cd"]
    remote = [f"{bucket}/sets/gen.npz", f"{bucket}/sets/ref.npz", "--train", f"{bucket}/sets/train.npz"]
    assert main(["evaluate", *remote, *common, "--out", f"{bucket}/eval.json"]) == 0
    local = [str(tmp_path / "gen.npz"), str(tmp_path / "ref.npz"), "--train", str(tmp_path / "train.npz")]
    assert main(["evaluate", *local, *common, "--out", str(tmp_path / "eval.json")]) == 0
    got = json.loads(read_bytes(f"{bucket}/eval.json"))
    want = json.loads((tmp_path / "eval.json").read_text())
    assert got["inputs"]["samples"] == [f"{bucket}/sets/gen.npz"]
    assert got["inputs"]["reference"] == f"{bucket}/sets/ref.npz"
    assert got["inputs"]["train"] == f"{bucket}/sets/train.npz"
    for key in ("mmd", "cov", "1nna"):
        assert got["metrics"]["cd"][key] == want["metrics"]["cd"][key]
    assert got["novelty"] == want["novelty"]


def test_evaluate_refuses_a_samples_url_that_is_no_sample_file_in_one_line(bucket, tmp_path, capsys):
    """A URL that does not end in .npz/.npy is a prepared cache as reference or --train
    (``test_storage_caches.py``), never as the generated samples."""
    save_samples(tmp_path / "ref.npz", _points(1))
    args = ["evaluate", f"{bucket}/cache", str(tmp_path / "ref.npz"), "--bootstrap", "0", "--no-jsd"]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    want = f"samples {bucket}/cache: generated shapes are read from a sample file (.npz/.npy) only"
    assert want in lines[0]


def test_a_fresh_prefix_in_a_bucket_named_bucket_is_empty_not_missing(s3):
    # s3fs reports an empty prefix as FileNotFoundError(<path>): a path that merely contains the word
    # "bucket" must not be taken for a missing bucket, while a real NoSuchBucket still is one
    from gen3d.storage.errors import NoSuchBucketError
    from gen3d.storage.filesystem import open_fs

    name = f"my-bucket-{os.getpid()}"
    fs, _ = open_fs(f"s3://{name}")
    fs.mkdir(name)
    assert list_names(f"s3://{name}/caches/chairs") == []
    assert exists(f"s3://{name}/caches/chairs/manifest.json") is False
    with pytest.raises(NoSuchBucketError):
        list_names(f"s3://no-such-bucket-{os.getpid()}/caches")


def test_a_signed_sample_url_is_a_sample_file_not_a_cache():
    from gen3d.commands.evaluate import _is_cache

    assert (
        _is_cache("https://host.example/runs/gen.npz?X-Amz-Signature=abc&X-Amz-Expires=60", "samples")
        is False
    )
