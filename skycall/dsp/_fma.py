"""Fused multiply-add for numba kernels, and the complex product built on it.

``fma(a, b, c)`` = a·b + c rounded once (LLVM ``llvm.fma``: one instruction where the CPU has FMA,
the correctly rounded libm ``fma`` elsewhere), so a kernel gives the same bits on every machine and
in its vectorised and scalar loop paths, which the chunk-invariance guarantees rely on.

``cmul(ar, ai, br, bi)`` = (ar + j·ai)(br + j·bi) as (ar·br − ai·bi, ar·bi + ai·br) with one product
of each pair fused: two multiplies and two fused multiply-adds instead of four multiplies and two
adds, the form the rotators' inner loops spend their time in.
"""

from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def fma(typingctx, a, b, c):
    """a·b + c with a single rounding (all three arguments of the same float type)."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return a(a, b, c), codegen


@njit(cache=True, nogil=True, inline="always")
def cmul(ar, ai, br, bi):
    """Complex product (ar + j·ai)(br + j·bi) -> (re, im) with fused multiply-adds."""
    return fma(ar, br, -(ai * bi)), fma(ar, bi, ai * br)
