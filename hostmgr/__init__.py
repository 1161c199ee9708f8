"""hostmgr: a control plane for selling and running n8n instances."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hostmgr")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
