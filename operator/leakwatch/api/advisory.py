"""`LeakAdvisory` (cluster-scoped): known leaky versions of a package, in the shape of an OSV
advisory (affected[].package, ranges[].events with introduced/fixed), so advisories can be
written by hand or converted from OSV records."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from leakwatch.api.common import ApiModel, cel, validations

VersionString = str


class RangeEvent(ApiModel):
    """One OSV range event: exactly one of introduced, fixed, lastAffected or limit."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "[has(self.introduced), has(self.fixed), has(self.lastAffected), has(self.limit)]"
                ".filter(x, x).size() == 1",
                "each range event sets exactly one of introduced, fixed, lastAffected or limit",
            )
        )
    )

    introduced: VersionString | None = Field(
        default=None, min_length=1, max_length=128, description="First affected version ('0' for all before)."
    )
    fixed: VersionString | None = Field(default=None, min_length=1, max_length=128, description="First fixed version.")
    last_affected: VersionString | None = Field(
        default=None, min_length=1, max_length=128, description="Last affected version."
    )
    limit: VersionString | None = Field(default=None, min_length=1, max_length=128, description="Upper limit.")


class AffectedRange(ApiModel):
    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.events.exists(e, has(e.introduced))",
                "a range needs at least one introduced event",
            )
        )
    )

    type: Literal["ECOSYSTEM", "SEMVER"] = Field(
        default="ECOSYSTEM",
        description="How this range orders versions, as in OSV: ECOSYSTEM as the package's ecosystem does, "
        "SEMVER by SemVer 2.0 precedence whatever the ecosystem (1.0.0-sp1 is after 1.0.0 for Maven, "
        "a pre-release before it for SemVer).",
    )
    events: list[RangeEvent] = Field(min_length=1, max_length=32, description="Introduced/fixed events in order.")


class AffectedPackage(ApiModel):
    ecosystem: Literal["Maven", "PyPI", "npm", "Go", "SemVer"] = Field(
        default="Maven", description="Decides how versions are ordered."
    )
    name: str = Field(min_length=1, max_length=200, description="For Maven: groupId:artifactId.")


class Affected(ApiModel):
    package: AffectedPackage
    ranges: list[AffectedRange] = Field(default_factory=list, max_length=16, json_schema_extra={"default": []})
    versions: list[VersionString] = Field(
        default_factory=list,
        max_length=256,
        description="Explicitly affected versions, in addition to the ranges.",
        json_schema_extra={"default": []},
    )


class LeakAdvisorySpec(ApiModel):
    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.affected.all(a, size(a.ranges) + size(a.versions) > 0)",
                "each affected package needs at least one range or one explicit version",
            )
        )
    )

    summary: str = Field(min_length=1, max_length=512, description="One line: what leaks.")
    details: str = Field(default="", max_length=8192, description="More words, for people.")
    aliases: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="Other identifiers, e.g. jooby#3453.",
        json_schema_extra={"default": []},
    )
    references: list[str] = Field(default_factory=list, max_length=16, json_schema_extra={"default": []})
    affected: list[Affected] = Field(min_length=1, max_length=16)
    known_good: list[VersionString] = Field(
        default_factory=list,
        max_length=64,
        description="Versions confirmed not to leak (not in OSV; a hint for rollbacks).",
        json_schema_extra={"default": []},
    )


class LeakAdvisory(ApiModel):
    """A known memory leak in some versions of a package, and the versions that fix it."""

    model_config = ConfigDict(extra="ignore")

    spec: LeakAdvisorySpec
