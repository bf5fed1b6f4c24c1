"""The explicit 16-wide rotation kernel against the scalar formula it must reproduce bit for bit."""

import numpy as np
from numba import njit

from skycall.dsp._simd import rotate3_x16
from skycall.dsp.rotator import _rotate3
from skycall.rng import make_rng

_N = 1024
_YR, _EI, _YI = _N, 2 * _N + 16, 3 * _N + 16  # float32 table layout: E re | Y re | E im | Y im


@njit(cache=False)
def _both_paths(xf, tabs, rr, ri, vec_out, sca_out):
    """Rotate x[16v : 16v + 16] (v < _N/16) by R·E_m·Y_{m+3} through the vector and the scalar kernel."""
    for v in range(_N // 16):
        k = np.uint64(16 * v)
        rotate3_x16(xf, vec_out, k, tabs, 16 * v, _EI + 16 * v, _YR + 16 * v + 3, _YI + 16 * v + 3, rr, ri)
        for j in range(16):
            m = 16 * v + j
            e_re, e_im, y_re, y_im = tabs[m], tabs[_EI + m], tabs[_YR + m + 3], tabs[_YI + m + 3]
            _rotate3(xf, sca_out, k + np.uint64(j), e_re, e_im, y_re, y_im, rr, ri)


def test_rotate3_x16_matches_scalar_rotate3_bit_for_bit_and_the_complex_product():
    rng = make_rng(11)
    x = (rng.standard_normal(_N) + 1j * rng.standard_normal(_N)).astype(np.complex64)
    e = np.exp(1j * rng.uniform(0, 2 * np.pi, _N)).astype(np.complex64)
    y = np.exp(1j * rng.uniform(0, 2 * np.pi, _N + 16)).astype(np.complex64)
    tabs = np.zeros(_YI + _N + 16, np.float32)
    tabs[:_N], tabs[_YR:_EI], tabs[_EI:_YI], tabs[_YI:] = e.real, y.real, e.imag, y.imag
    rr, ri = np.float32(np.cos(0.3)), np.float32(np.sin(0.3))
    vec_out, sca_out = np.zeros(2 * _N, np.float32), np.zeros(2 * _N, np.float32)
    _both_paths(x.view(np.float32), tabs, rr, ri, vec_out, sca_out)
    np.testing.assert_array_equal(vec_out.view(np.uint32), sca_out.view(np.uint32))
    ref = x.astype(np.complex128) * complex(rr, ri) * e * y[3:_N + 3]
    np.testing.assert_allclose(vec_out.view(np.complex64), ref, rtol=0, atol=1e-6 * np.abs(x).max())
