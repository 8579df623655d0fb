"""``gen3d models``: list the models of a registry, their complete versions and headline metrics."""

from __future__ import annotations

import argparse

NAME = "models"
HELP = "list the models in a registry (gen3d publish): versions, dates, headline metrics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("registry", help="registry location (s3://bucket/prefix, memory://..., a folder)")
    parser.add_argument("--json", action="store_true", help="print the listing as JSON")


def run(args: argparse.Namespace) -> int:
    import json

    from gen3d.storage.registry import complete_versions, headline, model_names, registry_location
    from gen3d.storage.urls import redact

    registry = registry_location(args.registry)
    listing = {
        name: [{"version": v, "created": m.get("created"), "headline": headline(m)} for v, m in versions]
        for name in model_names(registry)
        if (versions := complete_versions(registry, name))
    }
    if args.json:
        print(json.dumps(listing, indent=1))
        return 0
    if not listing:
        print(f"gen3d models: no published model in {redact(registry)}")
        return 0
    for name, versions in listing.items():
        for i, v in enumerate(versions):
            latest = " (latest)" if i == len(versions) - 1 else ""
            metrics = "  ".join(f"{k}={x:.4g}" for k, x in v["headline"].items()) or "no evaluation"
            print(f"{name}@{v['version']}{latest}  {v['created']}  {metrics}")
    return 0
