"""The message catalogue kept in step with the code (sim/core/i18n.py reads it): which
messages the code and the registries have, what the catalogue holds, and the update
`python -m sim.outputs.catalogue` makes after a change to the words the code prints."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from sim.core import i18n
from sim.core.dtypes import INDICATOR_LEVELS, LEVEL_NAMES
from sim.core.indicators import INDICATOR_NAMES
from sim.core.kernels.state import EVENT_NAMES
from sim.model.scenario_base import RankingName


def update_catalogue(lang: str = "zh") -> tuple[int, int]:
    """Bring `lang`'s catalogue in step with the code: messages new in `sim/` (`code_messages`)
    and registry names (`registry_terms`) are appended untranslated, messages no longer used
    are dropped; the header and every translation kept stay as they are. Returns (added,
    dropped)."""
    from babel.messages.pofile import read_po, write_po

    path = i18n.CATALOGUES[lang]
    with open(path, encoding="utf-8") as f:
        catalog = read_po(f, locale=i18n.LOCALES[lang])
    wanted = list(dict.fromkeys(code_messages() + registry_terms()))
    known = {(m.id, m.context) for m in catalog if m.id}
    dropped = known - set(wanted)
    for msgid, context in dropped:
        catalog.delete(msgid, context=context)
    added = [w for w in wanted if w not in known]
    for msgid, context in added:
        catalog.add(msgid, context=context)
    with open(path, "wb") as f:
        write_po(f, catalog, width=100, no_location=True, omit_header=False)
    return len(added), len(dropped)


def catalogue_entries(lang: str = "zh") -> dict[tuple[str, str | None], str]:
    """(message, context) -> translation of every entry of `lang`'s catalogue."""
    from babel.messages.pofile import read_po

    with open(i18n.CATALOGUES[lang], encoding="utf-8") as f:
        return {(m.id, m.context): m.string for m in read_po(f, locale=i18n.LOCALES[lang]) if m.id}


def code_messages() -> list[tuple[str, str | None]]:
    """(message, None) of every `_()` and `N_()` in `sim/`, as Babel extracts them, in the
    order of the files and lines."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[1]  # sim/
    found = [(message, context) for _file, _line, message, _comments, context in
             extract_from_dir(str(root), method_map=[("**.py", "python")],
                              keywords={"_": None, "N_": None}, comment_tags=())]
    return list(dict.fromkeys(found))


def registry_terms() -> list[tuple[str, str]]:
    """(name, kind) of every registry name shown in words (`term`)."""
    return ([(n, "indicator") for n in INDICATOR_NAMES]
            + [(x, "level") for x in INDICATOR_LEVELS]
            + [(x, "school_level") for x in LEVEL_NAMES]
            + [(x, "event") for x in EVENT_NAMES if x != "by_action"]
            + [(x, "ranking") for x in get_args(RankingName)])


if __name__ == "__main__":
    added, dropped = update_catalogue()
    print(f"{i18n.CATALOGUES['zh']}: {added} messages added (untranslated), {dropped} dropped")
