"""Tail probabilities of count models, in log space: how unusual an observed count is.

The detectors score a bucket by the probability of seeing at least that many mentions if nothing
unusual were going on. Mention counts are over-dispersed (their variance grows faster than their
mean), so the model is the negative binomial with mean ``mu`` and size ``k`` (variance
``mu + mu**2 / k``); ``k`` infinite is the Poisson, and a Gaussian tail is kept as the classic
"k sigma" comparison. Everything is pure Python (``math.lgamma`` and a continued fraction for the
regularized incomplete beta and gamma functions), exact enough for scores, and returns
``log10`` probabilities so that a tail of 1e-300 is still a number.
"""

from __future__ import annotations

import math

_LN10 = math.log(10.0)
_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 500


def _log_betacf(a: float, b: float, x: float) -> float:
    """log of the continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.log(h)


def log_betainc(a: float, b: float, x: float) -> float:
    """Natural log of the regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return -math.inf
    if x >= 1.0:
        return 0.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return log_front + _log_betacf(a, b, x) - math.log(a)
    # The other side converges there; the tail is then large, so 1 - ... loses nothing.
    rest = math.exp(log_front + _log_betacf(b, a, 1.0 - x) - math.log(b))
    return math.log(max(_TINY, 1.0 - rest))


def log_gammainc(a: float, x: float) -> float:
    """Natural log of the regularized lower incomplete gamma function P(a, x)."""
    if x <= 0.0:
        return -math.inf
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:  # the series converges here
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return log_front + math.log(total)
    # Continued fraction for the upper function Q; P = 1 - Q is not small here.
    b = x + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _MAX_ITER + 1):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    q = math.exp(log_front) * h
    return math.log(max(_TINY, 1.0 - q))


def negbin_log10_sf(observed: float, mu: float, size: float) -> float:
    """log10 P(Y >= observed) for Y negative binomial with mean ``mu`` and size ``size``.

    ``observed`` may be fractional (a reach-weighted count): the tail is the continuous
    extension I_{mu/(mu+size)}(observed, size). ``size`` = inf gives the Poisson tail.
    """
    if observed <= 0.0:
        return 0.0
    mu = max(mu, 1e-9)
    if math.isinf(size):
        return log_gammainc(observed, mu) / _LN10
    return log_betainc(observed, size, mu / (mu + size)) / _LN10


def normal_log10_sf(z: float) -> float:
    """log10 P(Z >= z) for a standard normal Z."""
    if z < 5.0:
        return math.log10(max(_TINY, 0.5 * math.erfc(z / math.sqrt(2.0))))
    # Asymptotic expansion: erfc underflows long before the scores that matter stop.
    return (-0.5 * z * z - math.log(z * math.sqrt(2.0 * math.pi))) / _LN10
