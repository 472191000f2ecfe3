"""Settings: argument > DOCARCHIVE_* environment > docarchive.toml > default, and bad files."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docarchive.catalog import open_catalog
from docarchive.catalog.sqlite import SQLiteCatalog
from docarchive.config import SETTINGS_FILE, Settings, default_actor, default_root
from docarchive.errors import ConfigurationError
from docarchive.limits import Limits
from docarchive.numbering import DEFAULT_SERIES, SeriesConfig
from docarchive.records import Classification


def write_toml(root: Path, text: str) -> Path:
    path = root / SETTINGS_FILE
    path.write_text(text, encoding="utf-8")
    return path


TOML = """
[backends]
storage = "memory://from-toml"
catalog = "sqlite:////srv/toml/catalog.sqlite"
index = "whoosh:////srv/toml/index"

[office]
name = "مكتب المدير العام"
code = "م.ع"
ministry = "جمهورية العراق — وزارة التخطيط"
timezone = "Asia/Riyadh"

[access]
default_classification = "confidential"
default_clearance = "secret"

[series.circular]
padding = 4

[series.memo]
format = "{kind_code}/{seq}"
kind_code = "م"
reset = "never"

[limits]
pdf_pages = 100
"""

ENV = {
    "DOCARCHIVE_STORAGE": "memory://from-env",
    "DOCARCHIVE_CATALOG": "sqlite:////srv/env/catalog.sqlite",
    "DOCARCHIVE_INDEX": "whoosh:////srv/env/index",
    "DOCARCHIVE_TIMEZONE": "Africa/Cairo",
    "DOCARCHIVE_CLEARANCE": "top-secret",
    "DOCARCHIVE_LIMIT_PDF_PAGES": "200",
}

ARGS = {
    "storage": "memory://from-argument",
    "catalog": "sqlite:////srv/arg/catalog.sqlite",
    "index": "whoosh:////srv/arg/index",
    "timezone": "Europe/London",
    "clearance": "public",
}


def picked(settings: Settings) -> tuple[str, str, str, str, Classification]:
    return (
        settings.storage_url,
        settings.catalog_url,
        settings.index_url,
        settings.timezone,
        settings.default_clearance,
    )


# -- precedence -----------------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path, environ={})
    assert settings.root == tmp_path
    assert picked(settings) == (
        (tmp_path / "blobs").as_uri(),
        f"sqlite://{tmp_path / 'catalog.sqlite'}",  # tmp_path is absolute: sqlite:///tmp/...
        f"tantivy://{tmp_path / 'index'}",
        "Asia/Baghdad",
        Classification.INTERNAL,
    )
    assert settings.office_code == "م.و"
    assert settings.default_classification is Classification.INTERNAL
    assert settings.series == DEFAULT_SERIES
    assert settings.limits == Limits()
    assert settings.templates_dir is None
    assert str(settings.tz) == "Asia/Baghdad"


def test_toml_beats_defaults(tmp_path: Path) -> None:
    write_toml(tmp_path, TOML)
    settings = Settings.load(tmp_path, environ={})
    assert picked(settings) == (
        "memory://from-toml",
        "sqlite:////srv/toml/catalog.sqlite",
        "whoosh:////srv/toml/index",
        "Asia/Riyadh",
        Classification.SECRET,
    )
    assert (settings.office_name, settings.office_code) == ("مكتب المدير العام", "م.ع")
    assert settings.ministry == "جمهورية العراق — وزارة التخطيط"
    assert settings.default_classification is Classification.CONFIDENTIAL
    assert settings.series["circular"].padding == 4
    assert settings.series["circular"].kind_code == "ت"
    assert settings.series["memo"] == SeriesConfig(
        "memo", format="{kind_code}/{seq}", kind_code="م", reset="never"
    )
    assert settings.series["letter"] == DEFAULT_SERIES["letter"]
    assert settings.limits.pdf_pages == 100


def test_environment_beats_toml(tmp_path: Path) -> None:
    write_toml(tmp_path, TOML)
    settings = Settings.load(tmp_path, environ=ENV)
    assert picked(settings) == (
        "memory://from-env",
        "sqlite:////srv/env/catalog.sqlite",
        "whoosh:////srv/env/index",
        "Africa/Cairo",
        Classification.SECRET,  # DOCARCHIVE_CLEARANCE never raises: it is the CLI's --clearance
    )
    assert settings.limits.pdf_pages == 200


def test_argument_beats_environment(tmp_path: Path) -> None:
    write_toml(tmp_path, TOML)
    settings = Settings.load(tmp_path, environ=ENV, **ARGS)
    assert picked(settings) == (
        "memory://from-argument",
        "sqlite:////srv/arg/catalog.sqlite",
        "whoosh:////srv/arg/index",
        "Europe/London",
        Classification.PUBLIC,
    )


def test_environment_beats_default_without_toml(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path, environ=ENV)
    assert settings.storage_url == "memory://from-env"
    assert settings.default_clearance is Classification.INTERNAL


def test_none_argument_and_empty_environment_fall_through(tmp_path: Path) -> None:
    write_toml(tmp_path, TOML)
    settings = Settings.load(
        tmp_path, environ={"DOCARCHIVE_STORAGE": "", "DOCARCHIVE_TIMEZONE": ""}, storage=None
    )
    assert settings.storage_url == "memory://from-toml"
    assert settings.timezone == "Asia/Riyadh"


def test_root_from_environment(tmp_path: Path) -> None:
    write_toml(tmp_path, '[backends]\nstorage = "memory://rooted"\n')
    settings = Settings.load(environ={"DOCARCHIVE_ROOT": str(tmp_path)})
    assert settings.root == tmp_path
    assert settings.storage_url == "memory://rooted"


def test_root_argument_beats_environment(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "arg", environ={"DOCARCHIVE_ROOT": str(tmp_path / "env")})
    assert settings.root == tmp_path / "arg"


def test_default_root_and_actor() -> None:
    assert default_root({}) == Path("archive")
    assert default_root({"DOCARCHIVE_ROOT": "/srv/archive"}) == Path("/srv/archive")
    assert default_actor({"DOCARCHIVE_USER": "ahmed"}) == "ahmed"
    assert default_actor({}) != ""


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    original = Settings.load(tmp_path, environ={})
    original.write(backends={"storage": "memory://written", "catalog": ""})
    again = Settings.load(tmp_path, environ={})
    assert again.storage_url == "memory://written"
    assert again.catalog_url == original.catalog_url
    assert again.series == original.series
    assert (again.office_code, again.timezone) == (original.office_code, original.timezone)


def test_templates_folder_is_under_root(tmp_path: Path) -> None:
    write_toml(tmp_path, '[templates]\nfolder = "my-templates"\n')
    assert Settings.load(tmp_path, environ={}).templates_dir == tmp_path / "my-templates"


def test_series_for(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path, environ={})
    assert settings.series_for("letter") == DEFAULT_SERIES["letter"]
    with pytest.raises(
        ConfigurationError,
        match=re.escape(
            "no numbering series 'memo' "
            "(configured: assignment, circular, decision, incoming, letter, letter_en)"
        ),
    ):
        settings.series_for("memo")


def test_default_catalog_url_opens_the_archive_catalog(tmp_path: Path) -> None:
    catalog = open_catalog(Settings.load(tmp_path, environ={}).catalog_url)
    try:
        assert isinstance(catalog, SQLiteCatalog)
        assert catalog.path.resolve() == (tmp_path / "catalog.sqlite").resolve()
    finally:
        catalog.close()


@pytest.mark.parametrize("folder", ["archive #2", "archive%41"])
def test_default_catalog_url_survives_odd_folder_names(tmp_path: Path, folder: str) -> None:
    root = tmp_path / folder
    root.mkdir()
    catalog = open_catalog(Settings.load(root, environ={}).catalog_url)
    try:
        assert isinstance(catalog, SQLiteCatalog)
        assert catalog.path.resolve() == (root / "catalog.sqlite").resolve()
    finally:
        catalog.close()


# -- bad settings ----------------------------------------------------------------------------


def test_unknown_table(tmp_path: Path) -> None:
    write_toml(tmp_path, "[office]\ncode = 'x'\n[ofice]\ncode = 'y'\n")
    with pytest.raises(
        ConfigurationError,
        match=re.escape(
            "unknown table [ofice] (known: access, backends, followup, issue, limits, office, pdf, "
            "search, security, series"
        ),
    ):
        Settings.load(tmp_path, environ={})


def test_search_table_makes_the_lexicon_settings(tmp_path: Path) -> None:
    write_toml(
        tmp_path,
        '[search]\nlexicon = ["builtin"]\nwords = ["شهربان"]\n'
        '[search.plurals]\n"سراكيل" = "سركال"\n',
    )
    search = Settings.load(tmp_path, environ={}).search
    assert search.resolved() == ("builtin",)
    assert search.words == ("شهربان",)
    assert search.plurals == (("سراكيل", "سركال"),)
    assert Settings.load(tmp_path / "none", environ={}).search.sources == "auto"
    write_toml(tmp_path, '[search]\nlexicon = "all"\n')
    with pytest.raises(ConfigurationError, match=r"\[search\] lexicon must be"):
        Settings.load(tmp_path, environ={})


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[office\ncode = \n")
    with pytest.raises(ConfigurationError, match=re.escape(f"{path}: not valid TOML")):
        Settings.load(tmp_path, environ={})


def test_table_that_is_not_a_table(tmp_path: Path) -> None:
    write_toml(tmp_path, 'office = "م.و"\n')
    with pytest.raises(ConfigurationError, match=re.escape("[office] in docarchive.toml")):
        Settings.load(tmp_path, environ={})


def test_series_that_is_not_a_table(tmp_path: Path) -> None:
    write_toml(tmp_path, "[series]\ncircular = 3\n")
    with pytest.raises(ConfigurationError, match=re.escape("[series.circular] must be a table")):
        Settings.load(tmp_path, environ={})


def test_bad_series_setting(tmp_path: Path) -> None:
    write_toml(tmp_path, '[series.circular]\nformat = "{seq}/{month}"\n')
    with pytest.raises(ConfigurationError, match=re.escape("unknown placeholder {month}")):
        Settings.load(tmp_path, environ={})


def test_unknown_limit(tmp_path: Path) -> None:
    write_toml(tmp_path, "[limits]\npdf_page = 10\n")
    with pytest.raises(ConfigurationError, match="unknown limit 'pdf_page' in \\[limits\\]"):
        Settings.load(tmp_path, environ={})


@pytest.mark.parametrize(
    ("toml", "environ", "overrides", "zone"),
    [
        ('[office]\ntimezone = "Mars/Olympus_Mons"\n', {}, {}, "Mars/Olympus_Mons"),
        ("", {"DOCARCHIVE_TIMEZONE": "Baghdad"}, {}, "Baghdad"),
        ("", {}, {"timezone": "../../etc/passwd"}, "../../etc/passwd"),
        ("", {}, {"timezone": "/etc/localtime"}, "/etc/localtime"),
    ],
)
def test_bad_time_zone(
    tmp_path: Path, toml: str, environ: dict[str, str], overrides: dict[str, str], zone: str
) -> None:
    write_toml(tmp_path, toml)
    with pytest.raises(
        ConfigurationError, match=re.escape(f"unknown time zone {zone!r} in [office] timezone")
    ):
        Settings.load(tmp_path, environ=environ, **overrides)


def test_bad_classification(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown classification 'ultra' \\(one of: pub"):
        Settings.load(tmp_path, environ={}, clearance="ultra")


def test_bad_limit_in_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="limit pdf_pages must be a whole number"):
        Settings.load(tmp_path, environ={"DOCARCHIVE_LIMIT_PDF_PAGES": "lots"})


STAMP_KEY_WORKER = """
import sys, time
from pathlib import Path
from docarchive.config import Settings
root, go = Path(sys.argv[1]), Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
print(Settings.load(root).stamp_key({}).hex())
"""


def test_processes_creating_the_stamp_key_at_once_agree_on_one(tmp_path: Path) -> None:
    """Several processes opening a new archive at once: one key, whole, for all of them."""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STAMP_KEY_WORKER, str(tmp_path), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    time.sleep(1.0)  # let them all reach the start line
    go.touch()
    keys = set()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        keys.add(out.strip())
    assert len(keys) == 1
    (key,) = keys
    assert len(bytes.fromhex(key)) == 32
    assert (tmp_path / "stamp.key").read_text().strip() == key
    assert (tmp_path / "stamp.key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".stamp.key")] == []
