"""What every part of a scenario's schema shares: strict models (unknown keys refused, whole
numbers that fit the core) and the names of school levels and closure rankings. Kept apart from
sim/model/scenario.py so that the plan's action kinds (sim/model/actions.py) can use it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from sim.core.i18n import _

LevelName = Literal["teaching_point", "village_primary", "central_primary", "junior", "nine_year"]
RankingName = Literal["smallest_first", "least_added_travel"]


INT32_MAX = 2**31 - 1  #: whole numbers of a scenario go into the core's 32-bit arrays
WIDE_INTS = {"seed"}  #: whole-number fields that may be larger (seeds)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="after")
    def _whole_numbers_fit_the_core(self):
        for name, value in self.__dict__.items():
            if name in WIDE_INTS:
                continue
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT32_MAX:
                    raise ValueError(_("{name} = {value} is out of range: a whole number here "
                                       "must lie within +-{most:,}").format(
                        name=name, value=v, most=INT32_MAX))
        return self


def grades_error(grades: list[int], top: int) -> str | None:
    """Why a list of kept grades is not consecutive from grade 1 up to at most `top` (None if
    it is): a school kept for the lower grades teaches grades 1 to some grade."""
    g = sorted(grades)
    if not g or g[0] != 1 or g != list(range(1, g[-1] + 1)) or g[-1] > top:
        return _("grades must be consecutive from 1, at most up to {top} (e.g. [1, 2, "
                 "3])").format(top=top)
    return None

