"""`leakwatch` command line: run the operator, print the CRDs, print the version."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
from pathlib import Path

from leakwatch import __version__
from leakwatch.config import Settings


def _run(_: argparse.Namespace) -> int:
    import kopf

    from leakwatch.publish import metrics
    from leakwatch.watch import handlers  # registers the handlers

    settings = Settings()
    if settings.peering_name is not None:
        handlers.register_ownership()
    log_format = {
        "plain": kopf.LogFormat.PLAIN,
        "full": kopf.LogFormat.FULL,
        "json": kopf.LogFormat.JSON,
    }[settings.log_format]
    kopf.configure(log_format=log_format, verbose=settings.log_level == "DEBUG")
    logging.getLogger().setLevel(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per query is noise
    metrics.serve(settings.metrics_port, settings.bind_address)
    logging.info(
        "leakwatch %s: metrics on %s:%d, health on %s:%d/healthz, %s",
        __version__,
        settings.bind_address,
        settings.metrics_port,
        settings.bind_address,
        settings.health_port,
        "cluster-wide" if settings.clusterwide else f"namespaces {','.join(settings.namespaces)}",
    )
    asyncio.run(
        kopf.operator(
            clusterwide=settings.clusterwide,
            namespaces=settings.namespaces,
            standalone=settings.peering_name is None,
            peering_name=settings.peering_name,
            priority=_peering_priority(settings),
            liveness_endpoint=f"http://{settings.bind_address}:{settings.health_port}/healthz",
        )
    )
    return 0


def _peering_priority(settings: Settings) -> int | None:
    if settings.peering_name is None:
        return None
    if settings.peering_priority is not None:
        return settings.peering_priority
    # Ties pause everyone; a random priority is what kopf's docs suggest for equal replicas.
    return random.randint(0, 32767)


def _crds(args: argparse.Namespace) -> int:
    from leakwatch.api.crd import all_crds, render

    crds = all_crds()
    if args.output_dir:
        for out in args.output_dir:
            directory = Path(out)
            directory.mkdir(parents=True, exist_ok=True)
            for name, crd in crds.items():
                (directory / name).write_text(render(crd))
    else:
        sys.stdout.write("---\n".join(render(crd) for crd in crds.values()))
    return 0


def _version(_: argparse.Namespace) -> int:
    print(__version__)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leakwatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the operator (settings from LEAKWATCH_* environment variables)").set_defaults(
        func=_run
    )
    crds = sub.add_parser("crds", help="print the CRDs generated from the API models")
    crds.add_argument("--output-dir", action="append", help="write one file per CRD into this directory (repeatable)")
    crds.set_defaults(func=_crds)
    sub.add_parser("version", help="print the version").set_defaults(func=_version)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
