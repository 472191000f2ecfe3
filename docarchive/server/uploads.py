"""Files sent to the server (the API's multipart uploads and the pages' forms) as inputs
of an ingest batch: each written under a plain name into a private temporary folder,
the batch run on those paths, the folder removed, and the batch's answer given back
with the names the client sent (never a path of the server)."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile

__all__ = ["content_disposition", "ingest_uploads", "upload_name"]

SAFE_NAME = re.compile(r"[^\w.\- ()]+")


def upload_name(raw: str | None, n: int) -> str:
    """A plain file name for an upload: the last part of what the client sent, letters,
    digits and a few marks only; never a path."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = SAFE_NAME.sub("_", name).strip(" .")[:150]
    return name or f"upload-{n}"


def ingest_uploads(
    uploads: Sequence[UploadFile], work: Callable[[list[Path]], Any], lock: threading.RLock
) -> dict[str, Any]:
    """Run ``work`` (an ingest batch over paths, returning a ``BatchResult``) on the
    uploads, each in a folder of its own under a private temporary folder (``mkdtemp``
    makes it 0700), under ``lock``; the answer's ``file`` names are the client's."""
    folder = Path(tempfile.mkdtemp(prefix="docarchive-upload-"))
    names: dict[str, str] = {}
    try:
        paths = []
        for n, upload in enumerate(uploads):
            place = folder / str(n)
            place.mkdir()
            path = place / upload_name(upload.filename, n)
            with path.open("xb") as out:
                shutil.copyfileobj(upload.file, out, 1024 * 1024)
            names[str(path)] = upload.filename or path.name
            paths.append(path)
        with lock:
            result: dict[str, Any] = work(paths).to_dict()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for key in ("quarantined", "duplicates"):
        for item in result.get(key, []):
            item["file"] = names.get(str(item.get("file")), Path(str(item.get("file"))).name)
    return result


def content_disposition(name: str, kind: str = "attachment") -> str:
    """RFC 6266: ``kind`` (attachment or inline), an ASCII fallback and the UTF-8 name in
    ``filename*``, so Arabic names reach the browser whole."""
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    fallback = re.sub(r'["\\\r\n]', "_", fallback) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
