"""An archive behind the API: records at several classifications, users of each role and
clearance with their tokens, and a test client (the same application uvicorn runs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from docarchive import Archive
from docarchive.server.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
PASSWORD = "كلمة-مرور-طويلة-2026"

DEPARTMENTS = """
[followup.departments]
"الدائرة القانونية" = "secret"
"دائرة العقود" = "secret"
"""

#: name: (clearance, role)
PEOPLE = {
    "layla": ("internal", "clerk"),
    "suad": ("secret", "officer"),
    "admin": ("top-secret", "admin"),
}


@dataclass
class Api:
    """The client, the archive behind it, each person's token and the seeded records."""

    client: TestClient
    archive: Archive
    tokens: dict[str, str]
    records: dict[str, dict[str, Any]]  # classification label → the issued record

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=self.auth(who) if who else {}, **kw)

    def post(self, path: str, who: str | None = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self.auth(who) if who else {}, **kw)


def seed(archive: Archive) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    tokens = {}
    for name, (clearance, role) in PEOPLE.items():
        archive.add_user(name, PASSWORD, clearance=clearance, role=role, actor="setup")
        tokens[name] = archive.create_token(name, label="tests", actor="setup").token
    data = json.loads((EXAMPLES / "circular.json").read_text("utf-8"))
    records = {}
    subjects = {
        "internal": "تعميم بشأن الأرشفة الإلكترونية للكتب الرسمية",
        "confidential": "تعميم سري بشأن الأرشفة وخطة تأمين المداخل",
        "secret": "تعميم بالغ السرية بشأن الأرشفة ونقل الوثائق المصنفة",
    }
    for level, subject in subjects.items():
        record = archive.issue(
            "circular", {**data, "subject": subject}, classification=level, actor="setup"
        )
        records[level] = record.to_dict(text=False)
    return tokens, records


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    root = tmp_path / "archive"
    Archive.open(root).close()
    with (root / "docarchive.toml").open("a", encoding="utf-8") as fh:
        fh.write(DEPARTMENTS)
    archive = Archive.open(root)
    tokens, records = seed(archive)
    app = create_app(archive)
    with TestClient(app) as client:
        yield Api(client, archive, tokens, records)
    archive.close()
