"""The LeakWatch API: pydantic models that are the one source of truth for the CRDs."""

from leakwatch.api.advisory import LeakAdvisory, LeakAdvisorySpec
from leakwatch.api.leakwatch import LeakWatch, LeakWatchSpec, LeakWatchStatus

GROUP = "leakwatch.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "LeakAdvisory",
    "LeakAdvisorySpec",
    "LeakWatch",
    "LeakWatchSpec",
    "LeakWatchStatus",
]
