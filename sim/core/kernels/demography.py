"""Demography kernels: ageing and grade progression, births, parents' out- and return
migration (children left behind or taken along), households moving to town or county seat."""

import numpy as np
from numba import njit

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.kernels import counter_rng as rng
from sim.core.kernels.generated import fresh_child
from sim.core.kernels.state import (
    COUNT_AGED_OUT,
    COUNT_GRADUATES,
    COUNT_RETURNED,
    COUNT_SENIOR_ENTRY,
)


@njit(cache=True)
def senior_entry_prob(achievement, female, seat_min, P):
    """Probability that a pupil who finished grade 9 enters senior high (0-1): logistic in
    achievement (SD units), sex and one-way minutes to the county seat's senior highs."""
    z = P.logit_senior_entry + P.b_senior_achievement * achievement
    if female:
        z += P.b_senior_female
    z += P.b_senior_per_10min * seat_min / 10.0
    return 1.0 / (1.0 + np.exp(-z))


@njit(cache=True)
def age_and_progress(year, seed, P, W, H, C, S, counts):
    """Start of a school year: everyone ages a year; pupils who were enrolled complete a year
    of schooling and move up a grade; grade-9 finishers enter senior high (at the county seat,
    three grades; `senior_entry_prob`) or leave school; senior-high students complete a year;
    six-year-olds become pupils to be placed; pupils whose school no longer teaches their grade,
    and (with `choose_at_stages`) pupils starting the boarding grade or junior grades
    (`rules.chooses_again`), are to be placed again (school = -1); a child still without a
    place past compulsory-school age leaves as out of school; with dropout tracking, a share
    of the dropouts still of compulsory age is brought back to school at the grade they left.
    counts: COUNT_AGED_OUT, COUNT_GRADUATES, COUNT_SENIOR_ENTRY and COUNT_RETURNED of this
    year."""
    counts[COUNT_AGED_OUT] = 0
    counts[COUNT_GRADUATES] = 0
    counts[COUNT_SENIOR_ENTRY] = 0
    counts[COUNT_RETURNED] = 0
    for c in range(C.n_used[0]):
        C.age[c] += 1
        st = C.status[c]
        if st == dt.ENROLLED:
            C.schooling[c] += 1.0
            C.grade[c] += 1
            if C.grade[c] > dt.N_GRADES:
                C.school[c] = -1
                C.mode[c] = dt.MODE_NONE
                counts[COUNT_GRADUATES] += 1
                p = senior_entry_prob(C.achievement[c], C.female[c], W.seat_min[H.node[C.hh[c]]], P)
                if rng.uniform(seed, year, c, rng.SENIOR_ENTRY) < p:
                    C.status[c] = dt.SENIOR_HIGH
                    counts[COUNT_SENIOR_ENTRY] += 1
                else:
                    C.status[c] = dt.GRADUATED
            elif C.school[c] >= 0 and (C.grade[c] > S.hi[C.school[c]] or (
                    P.choose_at_stages > 0.0
                    and rules.chooses_again(C.grade[c], int(P.board_min_grade)))):
                C.school[c] = -1
        elif st == dt.SENIOR_HIGH:
            C.schooling[c] += 1.0
            C.grade[c] += 1
            if C.grade[c] > dt.LAST_SENIOR_GRADE:
                C.status[c] = dt.GRADUATED
        elif st == dt.PRESCHOOL and C.age[c] >= dt.SCHOOL_ENTRY_AGE:
            C.status[c] = dt.ENROLLED
            C.grade[c] = 1
            C.school[c] = -1
        elif st == dt.UNPLACED and C.age[c] > rules.COMPULSORY_AGE_LIMIT:
            C.status[c] = dt.DROPPED_OUT
            counts[COUNT_AGED_OUT] += 1
        elif (st == dt.DROPPED_OUT and P.return_share > 0.0
              and C.age[c] <= rules.COMPULSORY_AGE_LIMIT
              and rng.uniform(seed, year, c, rng.BACK_TO_SCHOOL) < P.return_share):
            C.status[c] = dt.ENROLLED  # back at the grade it left, to be placed
            C.school[c] = -1
            counts[COUNT_RETURNED] += 1


@njit(cache=True)
def households_year(year, seed, P, W, H, C):
    """Household events of one year, in this order per household: return of absent parents,
    out-migration of a parent (children left behind, or the household leaves with them), a
    move to the township centre or county seat, a birth. Probabilities per year; birth
    probabilities fall by the fertility trend and are scaled by W.birth_scale (a county's own
    births projection, sim/model/births.py)."""
    trend = (1.0 - P.fertility_decline) ** year
    for h in range(H.node.shape[0]):
        if H.away[h]:
            if rng.uniform(seed, year, h, rng.RETURN) < P.return_prob:
                H.away[h] = False
                H.parents[h] = 2
                c = H.first_child[h]
                while c >= 0:
                    if C.status[c] == dt.MIGRATED:
                        if C.age[c] < dt.SCHOOL_ENTRY_AGE:
                            C.status[c] = dt.PRESCHOOL
                        elif C.age[c] <= rules.LAST_SCHOOL_AGE_AT_START:
                            C.status[c] = dt.ENROLLED
                            g = rules.grade_for_age(C.age[c])
                            C.grade[c] = g if g <= dt.N_GRADES else dt.N_GRADES
                            C.school[c] = -1
                    c = C.next_sibling[c]
            H.head_age[h] += 1
            continue
        if H.parents[h] < 2 and rng.uniform(seed, year, h, rng.RETURN) < P.return_prob:
            H.parents[h] = 2
        elif H.parents[h] > 0 and rng.uniform(seed, year, h, rng.OUT_MIGRATION) < P.out_migration:
            if rng.uniform(seed, year, h, rng.TAKE_CHILDREN) < P.take_children:
                H.away[h] = True
                c = H.first_child[h]
                while c >= 0:
                    st = C.status[c]
                    if st == dt.ENROLLED or st == dt.UNPLACED or st == dt.PRESCHOOL:
                        C.status[c] = dt.MIGRATED
                        C.school[c] = -1
                        C.mode[c] = dt.MODE_NONE
                    c = C.next_sibling[c]
                H.head_age[h] += 1
                continue
            H.parents[h] -= 1
        node = H.node[h]
        if W.node_kind[node] == 0:
            p = P.move_town + P.move_seat + (P.move_if_far if H.far[h] else 0.0)
            u = rng.uniform(seed, year, h, rng.MOVE)
            if u < p:
                if u < P.move_seat:
                    H.node[h] = W.seat_node[0]
                else:
                    H.node[h] = W.township_centre[W.node_township[node]]
                c = H.first_child[h]
                while c >= 0:
                    if C.status[c] == dt.ENROLLED:
                        C.school[c] = -1
                    c = C.next_sibling[c]
        age = H.head_age[h]
        pb = 0.0
        if rules.BIRTH_AGES_HIGH[0] <= age <= rules.BIRTH_AGES_HIGH[1]:
            pb = P.birth_20_34
        elif rules.BIRTH_AGES_LOW[0] <= age <= rules.BIRTH_AGES_LOW[1]:
            pb = P.birth_35_44
        if pb > 0.0 and rng.uniform(seed, year, h, rng.BIRTH) < pb * trend * W.birth_scale[year]:
            c = C.n_used[0]
            if c < C.hh.shape[0]:
                C.n_used[0] = c + 1
                fresh_child(C, c)
                C.hh[c] = h
                C.female[c] = rng.uniform(seed, year, c, rng.SEX) < rules.FEMALE_SHARE_AT_BIRTH
                C.next_sibling[c] = H.first_child[h]
                H.first_child[h] = c
        H.head_age[h] += 1
