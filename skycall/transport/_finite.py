"""Copy IQ samples while replacing non-finite ones: the stream's guard against NaN/Inf input.

One NaN sample reaching a receiver's loop filters poisons its state for good, so every sample a
:class:`~skycall.transport.stream.StreamIn` hands out passes through :func:`copy_finite`: a
complex sample with a NaN or infinite part becomes 0 and is counted. The copy runs over the float32
parts with an OR-reduction of ``v·0 ≠ 0`` (true exactly for NaN and ±Inf), which vectorises: it
costs what a ``memcpy`` of the message does; only a block that holds a bad value gets a second,
fixing pass.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def copy_finite(src, dst) -> int:
    """``dst[i] = src[i]`` where both parts are finite, else 0; return how many were replaced.

    ``src`` and ``dst``: 1-D contiguous complex64 of equal length (``src`` may be read-only).
    """
    s, d = src.view(np.float32), dst.view(np.float32)
    zero = np.float32(0.0)
    flag = 0
    for i in range(s.size):
        v = s[i]
        d[i] = v
        flag |= np.int32(v * zero != zero)
    if flag == 0:
        return 0
    bad = 0
    for i in range(dst.size):
        if d[2 * i] * zero != zero or d[2 * i + 1] * zero != zero:
            d[2 * i] = zero
            d[2 * i + 1] = zero
            bad += 1
    return bad
