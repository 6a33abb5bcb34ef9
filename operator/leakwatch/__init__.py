"""LeakWatch: a Kubernetes operator that catches memory leaks before they page anyone."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("leakwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
