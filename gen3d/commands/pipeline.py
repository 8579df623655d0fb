"""``gen3d pipeline``: prepare → fit → sample → evaluate → render → export → publish as one resumable job.

Each step skips when its artefacts exist for the same inputs (content-addressed keys in
``<work_dir>/pipeline_state.json``), a failed step can be re-run alone (``--step``), ``--dry-run`` prints the
plan, and the summary names every artefact path and URL. ``docs/pipeline.md`` describes the pipeline file.
"""

from __future__ import annotations

import argparse

NAME = "pipeline"
HELP = "run prepare → fit → sample → evaluate → render → export → publish as one resumable job"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", help="pipeline file (YAML) or the name of a shipped one (demo)")
    parser.add_argument(
        "--work-dir", default=None, help="local folder for artefacts and state (default: the file's)"
    )
    parser.add_argument(
        "--registry", default=None, help="registry URL or folder for the publish step (default: the file's)"
    )
    parser.add_argument(
        "--step", default=None, metavar="NAME", help="run this step only (its upstream up to date)"
    )
    parser.add_argument(
        "--from", dest="start", default=None, metavar="NAME", help="run this step and the later ones"
    )
    parser.add_argument("--force", action="store_true", help="run the selected steps even when up to date")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan (what would run and why); run nothing"
    )


def run(args: argparse.Namespace) -> int:
    from gen3d.commands._pipeline_steps import STEP_IMPLEMENTATIONS
    from gen3d.pipeline import load_pipeline, run_pipeline

    spec = load_pipeline(args.pipeline, work_dir=args.work_dir, registry=args.registry)
    print(f"gen3d pipeline: {spec.source} in {spec.work_dir} (steps: {', '.join(spec.steps)})", flush=True)
    outcomes = run_pipeline(
        spec,
        STEP_IMPLEMENTATIONS,
        only=args.step,
        start=args.start,
        force=args.force,
        dry_run=args.dry_run,
        announce=_announce,
    )
    _print_summary(spec, outcomes, args.dry_run)
    return 0


def _announce(outcome) -> None:
    print(f"\n=== gen3d pipeline: {outcome.name} ({outcome.reason})", flush=True)


def _print_summary(spec, outcomes, dry_run: bool) -> None:
    from gen3d.pipeline.state import STATE_FILE
    from gen3d.storage.urls import redact

    title = "plan" if dry_run else "summary"
    print(f"\n=== gen3d pipeline: {title} (state: {spec.work_dir / STATE_FILE})")
    for o in outcomes:
        took = f", {o.seconds:.0f}s" if o.status == "ran" else ""
        print(f"  {o.name:<9} {o.status} ({o.reason}{took})")
        for label, location in o.outputs.items():
            print(f"      {label:<24} {redact(location)}")
