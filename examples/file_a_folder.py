"""An archiving script files a folder of scans; refused files go to quarantine.

python examples/file_a_folder.py FOLDER [ARCHIVE_ROOT]
"""

from __future__ import annotations

import sys

from docarchive import Archive


def main(folder: str, root: str = "archive") -> None:
    with Archive.open(root) as archive:
        result = archive.ingest_scans([folder], actor="archiving-dept")
    print(
        f"{len(result.ingested)} archived, {len(result.duplicates)} already archived, "
        f"{len(result.quarantined)} quarantined"
    )
    for item in result.quarantined:
        print(f"  quarantined {item['file']}: {item['reason']}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:3])
