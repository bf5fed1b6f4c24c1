"""Explicit SIMD kernels for numba, written as LLVM vector IR (``numba.extending.intrinsic``).

LLVM lowers the fixed-width vectors below to the widest registers the CPU has (one zmm register
per 16 float32 on AVX-512, two ymm on AVX2, ...), whatever vector width its auto-vectoriser would
pick; every lane computes exactly the scalar formula of ``skycall.dsp._fma.cmul`` (one multiply,
one fused multiply-add per component), so the vector and scalar paths give the same bits.

* ``rotate3_x16``: 16 consecutive samples out[k + j] = x[k + j]·(R·(E_j·Y_j)).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I32, _I64, _F32 = ir.IntType(32), ir.IntType(64), ir.FloatType()


def _vec(elem, width):
    return ir.VectorType(elem, width)


def _vfma(builder, a, b, c):
    """a·b + c lane-wise with one rounding (float32 vectors)."""
    vty = a.type
    fnty = ir.FunctionType(vty, [vty, vty, vty])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.fma.v{vty.count}f32")
    return builder.call(fn, [a, b, c])


def _vcmul(builder, ar, ai, br, bi):
    """(ar + j·ai)(br + j·bi) lane-wise, the formula of skycall.dsp._fma.cmul."""
    return _vfma(builder, ar, br, builder.fneg(builder.fmul(ai, bi))), _vfma(builder, ar, bi, builder.fmul(ai, br))


def _splat(builder, scalar, width):
    """``scalar`` broadcast to all ``width`` lanes."""
    vty = _vec(scalar.type, width)
    v = builder.insert_element(ir.Constant(vty, ir.Undefined), scalar, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, ir.Constant(vty, ir.Undefined), ir.Constant(_vec(_I32, width), [0] * width))


def _pointer(context, builder, aryty, ary, offset, vty):
    """Pointer to ``vty`` at element ``offset`` (int64) of the 1-D array ``ary``."""
    data = context.make_array(aryty)(context, builder, ary).data
    return builder.bitcast(builder.gep(data, [offset]), vty.as_pointer())


def _index(context, builder, value, ty):
    """An integer argument of numba type ``ty`` as an LLVM i64."""
    return context.cast(builder, value, ty, types.int64)


@intrinsic
def rotate3_x16(typingctx, xf, of, k, tabs, er_at, ei_at, yr_at, yi_at, rr, ri):
    """of[2k:2k+32] = interleaved x[k:k+16]·(R·(E·Y)); xf/of float32 views of complex64, E and Y
    16-vectors read from the float32 array ``tabs`` at the given element offsets, R = rr + j·ri."""
    if not all(isinstance(t, types.Array) and t.dtype == types.float32 and t.ndim == 1 for t in (xf, of, tabs)):
        return None
    sig = types.void(xf, of, k, tabs, er_at, ei_at, yr_at, yi_at, rr, ri)
    width = 16
    v, v2 = _vec(_F32, width), _vec(_F32, 2 * width)
    even = ir.Constant(_vec(_I32, width), list(range(0, 2 * width, 2)))
    odd = ir.Constant(_vec(_I32, width), list(range(1, 2 * width, 2)))
    interleave = ir.Constant(_vec(_I32, 2 * width), [j // 2 + (width if j % 2 else 0) for j in range(2 * width)])

    def codegen(context, builder, signature, args):
        ty = signature.args
        xf_, of_, k_, tabs_ = args[:4]

        def tab(n):
            at = _index(context, builder, args[n], ty[n])
            return builder.load(_pointer(context, builder, ty[3], tabs_, at, v), align=4)

        k2 = builder.shl(_index(context, builder, k_, ty[2]), ir.Constant(_I64, 1))
        xv = builder.load(_pointer(context, builder, ty[0], xf_, k2, v2), align=4)
        xr, xi = builder.shuffle_vector(xv, xv, even), builder.shuffle_vector(xv, xv, odd)
        sr, si = _vcmul(builder, tab(4), tab(5), tab(6), tab(7))
        pr, pi = _vcmul(builder, _splat(builder, args[8], width), _splat(builder, args[9], width), sr, si)
        yr, yi = _vcmul(builder, xr, xi, pr, pi)
        out_ptr = _pointer(context, builder, ty[1], of_, k2, v2)
        builder.store(builder.shuffle_vector(yr, yi, interleave), out_ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen
