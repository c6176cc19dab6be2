"""Counter-based random draws: a uniform in [0, 1) from a hash of
(replicate seed, year, agent id, decision). No generator state, so draws do not depend on
thread count, chunking or the order in which agents are processed, and two scenarios with the
same replicate seed draw the same numbers for the same (year, agent, decision): common random
numbers for paired comparisons."""

import numpy as np
from numba import njit

# decision codes: each random decision has its own stream
BIRTH = 1
OUT_MIGRATION = 2
TAKE_CHILDREN = 3
RETURN = 4
MOVE = 5
SEX = 6
CHOICE = 7
RENT = 8
DROPOUT = 9
ORDER = 10
SENIOR_ENTRY = 11
BACK_TO_SCHOOL = 12
#: a pupil's lasting taste for a school: decision TASTE + school, year 0 (see `taste`)
TASTE = 1 << 20

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_K_YEAR = np.uint64(0xD6E8FEB86659FD93)
_K_AGENT = np.uint64(0xA0761D6478BD642F)
_K_DEC = np.uint64(0xE7037ED1A0B428DB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z):
    """splitmix64 finaliser: a bijective 64-bit mix."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def uniform(seed, year, agent, decision):
    """Uniform in [0, 1) keyed by (seed: uint64, year, agent, decision: ints)."""
    z = (np.uint64(year) * _K_YEAR) ^ (np.uint64(agent) * _K_AGENT) ^ (np.uint64(decision) * _K_DEC)
    z = mix64(seed ^ mix64(z + _G))
    return np.float64(z >> _S11) * _TO_UNIT


@njit(cache=True, inline="always")
def taste(seed, agent, school):
    """A pupil's lasting taste for a school: a standard Gumbel draw keyed by (seed, pupil,
    school) and not by year, so a family that chooses again among the same options with the
    same utilities picks the same school. The pupil takes the option of highest utility +
    taste: a multinomial logit draw (the Gumbel-max property)."""
    u = uniform(seed, 0, agent, TASTE + school)
    return -np.log(-np.log(u + 1e-300))
