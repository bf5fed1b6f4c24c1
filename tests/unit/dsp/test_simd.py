"""The explicit 16-wide rotation kernel against the scalar formula it must reproduce bit for bit."""

import numpy as np
import pytest
from numba import njit

from skycall.dsp._fma import cmul
from skycall.dsp._simd import rotate3_x16
from skycall.rng import make_rng

_N = 1024
_BACK = 63  # lanes at or past ``split`` read Y this many entries earlier (the next row of a table)
_YR, _EI, _YI, _RR, _RI = _N, 2 * _N + 16, 3 * _N + 16, 4 * _N + 32, 4 * _N + 96  # float32 table layout


@njit(cache=False)
def _vector(xf, tabs, out, split, lo, hi):
    """x[m + j]·(R·(E·Y)), m = 16v + 64, v < _N/16 - 6, R's and Y's row index offset by r = v % 32."""
    for v in range(_N // 16 - 6):
        m, r = 16 * v + 64, v % 32
        rotate3_x16(xf, out, m, tabs, m, _EI + m, _YR + m + r, _YI + m + r, _RR + r, _RI + r, _BACK, split, lo, hi)


@njit(cache=False)
def _scalar(xf, tabs, out, split, lo, hi):
    """The same, lane by lane with the scalar complex product: lanes j >= split use the next R and
    Y from _BACK entries earlier; lanes outside [lo, hi) are left alone."""
    for v in range(_N // 16 - 6):
        m0, r = 16 * v + 64, v % 32
        for j in range(lo, hi):
            m, y, rr = m0 + j, m0 + j + r, r
            if j >= split:
                y, rr = y - _BACK, r + 1
            sr, si = cmul(tabs[m], tabs[_EI + m], tabs[_YR + y], tabs[_YI + y])
            pr, pi = cmul(tabs[_RR + rr], tabs[_RI + rr], sr, si)
            out[2 * m], out[2 * m + 1] = cmul(xf[2 * m], xf[2 * m + 1], pr, pi)


def _phasors(rng, n):
    return np.exp(1j * rng.uniform(0, 2 * np.pi, n))


@pytest.mark.parametrize(
    ("split", "lo", "hi"), [(16, 0, 16), (11, 0, 16), (1, 0, 16), (16, 3, 13), (5, 0, 9), (9, 7, 16)]
)
def test_rotate3_x16_matches_the_scalar_product_bit_for_bit_and_leaves_masked_lanes_alone(split, lo, hi):
    rng = make_rng(11)
    x = (rng.standard_normal(_N) + 1j * rng.standard_normal(_N)).astype(np.complex64)
    e, y, r = _phasors(rng, _N), _phasors(rng, _N + 16), _phasors(rng, 33)
    tabs = np.zeros(_RI + 33, np.float32)
    tabs[:_N], tabs[_EI : _EI + _N] = e.real, e.imag
    tabs[_YR : _YR + _N + 16], tabs[_YI : _YI + _N + 16] = y.real, y.imag
    tabs[_RR : _RR + 33], tabs[_RI : _RI + 33] = r.real, r.imag
    vec_out, sca_out = np.full(2 * _N, np.nan, np.float32), np.full(2 * _N, np.nan, np.float32)
    _vector(x.view(np.float32), tabs, vec_out, split, lo, hi)
    _scalar(x.view(np.float32), tabs, sca_out, split, lo, hi)
    np.testing.assert_array_equal(vec_out.view(np.uint32), sca_out.view(np.uint32))
    # against the complex128 product of the same (float32-rounded) factors
    t = tabs.astype(np.float64)
    for v in (0, 7, 31, 57):
        m, rv = 16 * v + 64, v % 32
        for j in range(16):
            got = complex(vec_out[2 * (m + j)], vec_out[2 * (m + j) + 1])
            if not lo <= j < hi:
                assert np.isnan(got.real) and np.isnan(got.imag)
                continue
            yk, rk = (m + j + rv - _BACK, rv + 1) if j >= split else (m + j + rv, rv)
            ref = (
                complex(x[m + j])
                * complex(t[_RR + rk], t[_RI + rk])
                * complex(t[m + j], t[_EI + m + j])
                * complex(t[_YR + yk], t[_YI + yk])
            )
            assert abs(got - ref) < 1e-6 * abs(x).max()
