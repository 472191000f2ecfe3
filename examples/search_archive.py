"""Staff search the archive in Arabic or English.

python examples/search_archive.py QUERY [ARCHIVE_ROOT]
"""

from __future__ import annotations

import sys

from docarchive import Archive


def main(query: str, root: str = "archive") -> None:
    with Archive.open(root) as archive:
        results = archive.search(query, clearance="internal")
    print(f"{results.total} found for {query!r}")
    for hit in results.hits:
        record = hit.record
        print(f"- {record.number or record.id}  [{record.kind}]  {record.subject}")
        print(f"    {hit.snippet}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:3])
