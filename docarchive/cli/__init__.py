"""The ``docarchive`` command: a thin twin of the :class:`~docarchive.Archive` API.

Each subcommand parses its options, calls one library method and prints the
result — readable text, or JSON with ``--json``. Library errors become a
one-line message and exit code 1, here and only here (:mod:`.group`); usage
errors exit 2.

=================  ===========================================================
module             what it holds
=================  ===========================================================
``group``          the group that turns errors into messages and exit codes
``options``        the options several commands share, each defined once
``inputs``         reading what the user gives (DATA.json, days, output names)
``output``         printing: ``--json`` or text, progress bars
``documents``      templates, render, issue, void, register, check
``intake``         ingest scan, ingest mail
``reading``        search, show
``referrals``      refer, answer, close, followup, report
``maintenance``    init, verify, reindex, export, import, migrate
``accounts``       users, tokens, serve
=================  ===========================================================
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import __version__
from . import accounts, documents, intake, maintenance, reading, referrals
from .group import _Group
from .options import root_option

__all__ = ["main"]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="docarchive")
@root_option
@click.option("--user", "actor", help="Who is acting [env DOCARCHIVE_USER].")
@click.pass_context
def main(ctx: click.Context, root: Path | None, actor: str | None) -> None:
    """Archive, number and search ministry correspondence."""
    ctx.obj = {"root": root, "actor": actor}


for _command in (
    maintenance.init,
    documents.templates,
    documents.render,
    documents.issue,
    intake.ingest,
    reading.search,
    reading.show,
    referrals.refer,
    referrals.answer,
    referrals.close,
    referrals.followup,
    referrals.report,
    documents.void,
    documents.register,
    documents.check,
    maintenance.verify,
    maintenance.reindex,
    maintenance.export,
    maintenance.import_,
    maintenance.migrate,
    accounts.users,
    accounts.tokens,
    accounts.serve,
):
    main.add_command(_command)
