"""``docarchive search`` and ``show`` for real, in a subprocess: output shapes and clearance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli


def cli(*args: str, **kwargs: Any) -> Any:
    """The command in a process that inherits no ``DOCARCHIVE_*`` setting of the tests."""
    return run_cli(*args, isolated=True, **kwargs)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    example_data = Path(__file__).resolve().parents[2] / "examples" / "data"
    path = tmp_path / "archive"
    cli("init", str(path), user="owner", check=True)
    data = str(example_data / "circular.json")
    env_user = "owner"
    for level in ("public", "secret"):
        cli(
            "issue",
            "circular",
            data,
            "--classification",
            level,
            root=path,
            user=env_user,
            check=True,
        )
    return path


def _search(root: Path, *args: str, user: str = "owner") -> dict:  # type: ignore[type-arg]
    proc = cli("search", *args, "--json", root=root, user=user)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_the_user_who_ran_init_sees_everything(root: Path) -> None:
    found = _search(root, "الدوام")
    assert found["total"] == 2
    assert set(found) == {"total", "hits", "facets"}
    hit = found["hits"][0]
    for key in ("id", "kind", "number", "subject", "classification", "dates", "files"):
        assert key in hit
    assert "score" in hit and "<mark>" in hit["snippet"] and "text" not in hit
    assert found["facets"]["kind"] == {"circular": 2}
    assert set(found["facets"]) == {"kind", "year", "office"}


def test_other_users_get_the_default_clearance(root: Path) -> None:
    found = _search(root, "الدوام", user="clerk")
    assert found["total"] == 1 and found["hits"][0]["classification"] == "public"


def test_clearance_can_be_lowered_never_raised(root: Path) -> None:
    assert _search(root, "الدوام", "--clearance", "public")["total"] == 1
    proc = cli("search", "الدوام", "--clearance", "top-secret", root=root, user="clerk")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "docarchive: error: clerk holds clearance internal and cannot act as top-secret"
    )


def test_settings_give_a_user_a_clearance(root: Path) -> None:
    settings = root / "docarchive.toml"
    text = settings.read_text("utf-8")
    assert '[access.users]\nowner = "top-secret"' in text
    settings.write_text(text.replace('owner = "top-secret"', 'owner = "internal"'), "utf-8")
    assert _search(root, "الدوام")["total"] == 1


def test_show_refuses_a_record_above_clearance(root: Path) -> None:
    secret = next(h for h in _search(root, "الدوام")["hits"] if h["classification"] == "secret")
    proc = cli("show", secret["id"], root=root, user="clerk")
    assert proc.returncode == 1
    assert "is classified above your clearance (internal)" in proc.stderr
    assert "Traceback" not in proc.stderr
    shown = cli("show", secret["id"], "--json", root=root, user="owner", check=True)
    assert json.loads(shown.stdout)["id"] == secret["id"]
    lowered = cli("show", secret["id"], "--clearance", "internal", root=root, user="owner")
    assert lowered.returncode == 1


def test_readable_list_and_syntax_errors(root: Path) -> None:
    out = cli("search", "الوزاره", root=root, user="owner", check=True).stdout
    assert out.startswith("2 found, 1–2 shown")
    assert "kind: circular 2" in out and "<mark>" in out
    proc = cli("search", '"الدوام', root=root, user="owner")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "is not closed" in proc.stderr
