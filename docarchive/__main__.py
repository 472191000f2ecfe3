"""``python -m docarchive``: the command line."""

from .cli import main

main(prog_name="docarchive")
