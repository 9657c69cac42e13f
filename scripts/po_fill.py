"""Fill zh-Hans translations into locale/zh_Hans/LC_MESSAGES/django.po from a JSON file.

    python scripts/po_fill.py untranslated          # list msgids still missing a translation
    python scripts/po_fill.py fill translations.json # {"msgid": "译文", "context::msgid": "译文"}

A translator's tool: the shipped .po/.mo are the source of truth.
"""

import json
import sys
from pathlib import Path

import polib

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _key(entry: polib.POEntry) -> str:
    return f"{entry.msgctxt}::{entry.msgid}" if entry.msgctxt else entry.msgid


def main(argv: list[str]) -> int:
    po = polib.pofile(str(PO))
    if argv[:1] == ["untranslated"]:
        missing = [_key(e) for e in po if not e.translated() and not e.obsolete]
        print(json.dumps(missing, ensure_ascii=False, indent=0))
        return 0
    if argv[:1] == ["fill"] and len(argv) == 2:
        table = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        filled = 0
        for entry in po:
            key = _key(entry)
            if key in table:
                if entry.msgid_plural:
                    entry.msgstr_plural = {0: table[key]}
                else:
                    entry.msgstr = table[key]
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
                filled += 1
        po.metadata["Language"] = "zh_Hans"
        po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
        po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
        po.save()
        print(
            f"filled {filled}; untranslated {len(po.untranslated_entries())}; fuzzy {len(po.fuzzy_entries())}"
        )
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
