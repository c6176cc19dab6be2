"""The reader's language: every word SchoolFlow prints to a person (the console of `run`,
`compare`, `check` and `optimise`, the first screen, the plan-carried-out block, the thresholds
and the HTML report) in English (the default) or Chinese, from one message catalogue.

The catalogue is a gettext PO file, `sim/locale/zh.po` (English message -> Chinese), read with
Babel and compiled in memory: there is no second, binary copy to go stale. In code:

- `_("In year {year}, ...").format(year=...)` translates a message when it is shown;
- `N_("...")` marks a message kept in a module-level table, translated by `_()` where shown;
- `term("indicator", name)` / `term("level", "primary")`: a registry's name in words
  (English: the name itself; Chinese: the source plans' term, or the Ministry's usage).

`python -m sim.outputs.catalogue` adds messages new in the code to the catalogue (with an
empty translation) and drops those no longer used; `tests/test_i18n.py` fails while any message
is untranslated, so a new English sentence cannot reach a Chinese reader in English.

The language is chosen once per command (`resolve`: `--lang`, else the scenario's `lang:`,
else the locale, else English) and set with `use`; numbers are formatted for the language by
`sim/outputs/style.py` (`number`, with `LOCALES`).
"""

from __future__ import annotations

import functools
import gettext
import io
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

#: languages SchoolFlow speaks; the first is the default
LANGUAGES = ("en", "zh")
#: the catalogue of each language but English, whose messages are the code's own
CATALOGUES = {"zh": Path(__file__).resolve().parents[1] / "locale" / "zh.po"}
#: Babel / CLDR locale of each language, for numbers
LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}

_active = "en"


@functools.cache
def _translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (English: the messages as written)."""
    if lang == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(CATALOGUES[lang], encoding="utf-8") as f:
        catalog = read_po(f, locale=LOCALES[lang])
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def use(lang: str) -> None:
    """Speak `lang` ("en" or "zh") from now on in this process."""
    global _active
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; SchoolFlow speaks {', '.join(LANGUAGES)}")
    _active = lang


def current() -> str:
    """The language in use ("en" or "zh")."""
    return _active


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Speak `lang` inside the block, the language before it after."""
    before = _active
    use(lang)
    try:
        yield
    finally:
        use(before)


def _(message: str) -> str:
    """`message` in the language in use."""
    return _translations(_active).gettext(message)


def N_(message: str) -> str:
    """Marks `message` for the catalogue without translating it (module-level tables); `_()`
    translates it where it is shown."""
    return message


def term(kind: str, name: str) -> str:
    """A registry name in words: an indicator (`kind` "indicator"), a level ("level"), a school
    level ("school_level"), a school's event ("event"), a closure ranking ("ranking"). English:
    `name` as it is; otherwise the catalogue's entry in context `kind`."""
    return _translations(_active).pgettext(kind, name)


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: 2 for each wide (Chinese) character, 1 otherwise."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    """`text` followed by spaces to `width` terminal columns (`display_width`)."""
    return text + " " * max(width - display_width(text), 0)


def from_locale(environ: Mapping[str, str] | None = None) -> str | None:
    """The language the locale asks for (LC_ALL, LC_MESSAGES, LANG, LANGUAGE: "zh_CN.UTF-8"
    -> "zh"), or None when it names none SchoolFlow speaks."""
    env = os.environ if environ is None else environ
    for key in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(key, "")
        if value:
            code = value.split(":")[0].split("_")[0].split(".")[0].lower()
            return code if code in LANGUAGES else None
    return None


def resolve(flag: str | None, scenario_lang: str | None = None,
            environ: Mapping[str, str] | None = None) -> str:
    """The language of a command: `--lang`, else the scenario's `lang:`, else the locale, else
    English."""
    return flag or scenario_lang or from_locale(environ) or LANGUAGES[0]
