"""The base year's single-year age structure of children, from China's national births series.

A child aged a in the base year was born in BASE_YEAR - a; the synthesised population's cohorts
(ages 0-15) are in proportion to the national births of those years, so the base year already
holds the fall in births that shrinks grade-1 intake over the next years.

Source: National Bureau of Statistics of China, Statistical Communiqué on the National Economic
and Social Development (yearly, 2008-2023 editions): births in millions. Mortality under 16 and
migration are not taken out (assumption: both are small against the fall in births).
"""

from __future__ import annotations

import numpy as np

BASE_YEAR = 2023  #: calendar year of the synthetic county's base year (year 0)

#: births in China (millions), NBS statistical communiqués
NATIONAL_BIRTHS_MILLIONS = {
    2008: 16.08, 2009: 15.91, 2010: 15.92, 2011: 16.04, 2012: 16.35, 2013: 16.40,
    2014: 16.87, 2015: 16.55, 2016: 17.86, 2017: 17.23, 2018: 15.23, 2019: 14.65,
    2020: 12.00, 2021: 10.62, 2022: 9.56, 2023: 9.02,
}


def cohort_weights(max_age: int = 15) -> np.ndarray:
    """Relative size of each single-year cohort aged 0..max_age in the base year."""
    return np.array([NATIONAL_BIRTHS_MILLIONS[BASE_YEAR - a] for a in range(max_age + 1)])


def grade_weights(lo: int, hi: int, entry_age: int = 6) -> np.ndarray:
    """Relative size of the base year's grades lo..hi (grade g is aged g + entry_age - 1)."""
    w = cohort_weights()
    return np.array([w[g + entry_age - 1] for g in range(lo, hi + 1)])
