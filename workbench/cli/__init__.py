"""The `workbench` shell command, on typer."""

from .main import app

__all__ = ["app"]
