"""Which version a pod runs, read as its LeakWatch says: an image tag, a label, an annotation or
an environment variable, optionally cut out by a bounded RE2 regex."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from leakwatch.api.leakwatch import VersionSource
from leakwatch.api.patterns import extract
from leakwatch.core.conditions import ConditionUpdate
from leakwatch.core.pods import ContainerSpec, PodInfo

UNKNOWN = "unknown"
MAX_VERSION_LENGTH = 64  # versions become metric labels: keep them bounded
_HASH_DIGITS = 8


@dataclass(frozen=True)
class VersionReading:
    version: str
    problem: str | None = None  # why the version is unknown, for a warning condition
    shortened_from: str | None = None  # the version as read, when it was too long to keep


def bounded_version(version: str) -> str:
    """`version` if it fits in MAX_VERSION_LENGTH, else its head, "~" and a hash of all of it.

    Cutting alone would merge two long versions that share a prefix, and their kills with them;
    the hash keeps distinct versions distinct and the head keeps them readable."""
    if len(version) <= MAX_VERSION_LENGTH:
        return version
    digest = hashlib.sha256(version.encode()).hexdigest()[:_HASH_DIGITS]
    return f"{version[: MAX_VERSION_LENGTH - _HASH_DIGITS - 1]}~{digest}"


def _unprintable(text: str) -> str | None:
    """The first character a person could not see or that reorders text (control, bidi, line breaks)."""
    return next((c for c in text if not c.isprintable()), None)


def image_tag(image: str) -> str | None:
    """The tag of an image reference; None for an untagged or digest-only reference."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.rsplit(":", 1)[1] or None


def _container(pod: PodInfo, source: VersionSource, watched: list[str]) -> ContainerSpec | None:
    wanted = source.container or (watched[0] if watched else None)
    if wanted is None:
        return pod.containers[0] if pod.containers else None
    return next((c for c in pod.containers if c.name == wanted), None)


def read_version(pod: PodInfo, source: VersionSource, watched_containers: list[str]) -> VersionReading:
    raw: str | None
    where: str
    if source.source == "Label":
        where = f"label {source.key}"
        raw = pod.labels.get(source.key or "")
    elif source.source == "Annotation":
        where = f"annotation {source.key}"
        raw = pod.annotations.get(source.key or "")
    else:
        container = _container(pod, source, watched_containers)
        if container is None:
            return VersionReading(UNKNOWN, f"pod {pod.name} has no container {source.container or ''}".strip())
        if source.source == "Env":
            where = f"env {source.key} of container {container.name}"
            raw = dict(container.env).get(source.key or "")
        else:
            where = f"image tag of container {container.name}"
            raw = image_tag(container.image)
    if not raw:
        return VersionReading(UNKNOWN, f"pod {pod.name} has no {where}")
    version = extract(source.regex, raw)
    if not version:
        return VersionReading(UNKNOWN, f"regex {source.regex!r} does not match {where} {raw[:80]!r} of pod {pod.name}")
    hidden = _unprintable(version)
    if hidden is not None:
        return VersionReading(
            UNKNOWN, f"{where} of pod {pod.name} holds the unprintable character U+{ord(hidden):04X}: not a version"
        )
    kept = bounded_version(version)
    return VersionReading(kept, shortened_from=version if kept != version else None)


VERSIONS_RESOLVED = "VersionsResolved"


def versions_condition(readings: Iterable[VersionReading]) -> ConditionUpdate:
    """VersionsResolved from the readings kept for pods whose version was unknown or shortened."""
    notes = list(readings)
    problems = [r.problem for r in notes if r.problem]
    if problems:
        more = f" (and {len(problems) - 1} more pods)" if len(problems) > 1 else ""
        return ConditionUpdate(
            VERSIONS_RESOLVED, "False", "VersionUnknown", f"{problems[0]}{more}; counted as version {UNKNOWN}"
        )
    shortened = sorted({(r.version, r.shortened_from) for r in notes if r.shortened_from})
    if shortened:
        kept, read = shortened[0]
        more = f" (and {len(shortened) - 1} more)" if len(shortened) > 1 else ""
        return ConditionUpdate(
            VERSIONS_RESOLVED,
            "True",
            "VersionsShortened",
            f"every watched pod has a version; {len(read)}-character version {read[:80]!r}{more} is longer "
            f"than {MAX_VERSION_LENGTH} characters and is kept as {kept!r} (its head and a hash, so distinct "
            "versions stay distinct)",
        )
    return ConditionUpdate(VERSIONS_RESOLVED, "True", "AllVersionsKnown", "every watched pod has a version")
