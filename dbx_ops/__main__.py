"""``python -m dbx_ops`` runs the CLI."""

from dbx_ops.cli import entrypoint

entrypoint()
