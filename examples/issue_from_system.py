"""A ministry system (here: HR) issues a numbered Arabic circular from its own data.

python examples/issue_from_system.py [ARCHIVE_ROOT]
"""

from __future__ import annotations

import sys

from docarchive import Archive


def main(root: str = "archive") -> None:
    # The data comes from the calling system; its shape is the circular template's fields.
    data = {
        "subject": "تعميم بشأن مواعيد تقديم طلبات الإجازات السنوية",
        "recipients": ["جميع الدوائر والأقسام المرتبطة بمكتب الوزير"],
        "body": [
            "نود إعلامكم بأن آخر موعد لتقديم طلبات الإجازات السنوية للربع الأول "
            "هو نهاية الشهر الحالي.",
            "على مديري الأقسام رفع جداول الإجازات المصادق عليها إلى قسم الموارد البشرية.",
        ],
        "references": [],
        "signatory": {"name": "م. سارة كاظم حسين", "title": "مدير قسم الموارد البشرية"},
        "copies": ["الإضبارة العامة"],
    }
    with Archive.open(root) as archive:
        record = archive.issue("circular", data, actor="hr-system")
        print(f"issued {record.number} (id {record.id})")


if __name__ == "__main__":
    main(*sys.argv[1:2])
