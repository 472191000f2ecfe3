"""The one place where what a command raises becomes a message and an exit code.

=====================================  ===================================================
raised by a command                    what the user sees
=====================================  ===================================================
:class:`~docarchive.DocArchiveError`   ``docarchive: error: <message>``, exit 1
:class:`OSError`                       ``docarchive: error: <file>: <reason>``, exit 1
:class:`Negative`                      the answer the command printed, exit 1
:class:`click.UsageError`              click's usage message, exit 2
=====================================  ===================================================
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import DocArchiveError


class Negative(Exception):
    """The command's answer is "no" (a stamp code that is not genuine, an archive that does
    not verify), and it has printed that answer: exit 1 with nothing more to say."""


class _Group(click.Group):
    """Turns library errors into one-line messages and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DocArchiveError as exc:
            click.echo(f"docarchive: error: {exc}", err=True)
            ctx.exit(1)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"docarchive: error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(1)
        except Negative:
            ctx.exit(1)
