"""``gen3d publish``: upload a trained model to a registry as a new immutable version (``<name>/v<k>/``)."""

from __future__ import annotations

import argparse

NAME = "publish"
HELP = "publish a trained model (run folder or .ckpt) to a model registry in a bucket or folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="run folder of gen3d fit (checkpoints/last.ckpt) or a .ckpt path/URL")
    parser.add_argument(
        "registry",
        help="registry location: s3://bucket/prefix, gs://..., memory://..., file://... or a local folder "
        "(endpoint and credentials from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_PROFILE, FSSPEC_S3_*)",
    )
    parser.add_argument("--name", required=True, help="model name, e.g. chair-edm (lower case, digits, - _)")
    parser.add_argument(
        "--eval", dest="evaluation", default=None, help="gen3d evaluate JSON to publish with it"
    )
    parser.add_argument(
        "--gallery", default=None, help="PNG picture (default: the run folder's newest gallery picture)"
    )


def run(args: argparse.Namespace) -> int:
    from gen3d.storage.publish import find_inputs, publish_model
    from gen3d.storage.urls import redact

    inputs = find_inputs(args.source, args.evaluation, args.gallery)
    published = publish_model(inputs, args.registry, args.name)
    files = published.manifest["files"]
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in published.manifest["headline"].items()) or "no evaluation"
    print(
        f"gen3d publish: {args.name} {published.version} -> {redact(published.url)}/ ({len(files)} files: "
        f"{', '.join(sorted(files))}; {metrics})"
    )
    return 0
