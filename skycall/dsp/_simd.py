"""Explicit SIMD kernels for numba, written as LLVM vector IR (``numba.extending.intrinsic``).

LLVM lowers the fixed-width vectors below to the widest registers the CPU has (one zmm register
per 16 float32 on AVX-512, two ymm on AVX2, ...), whatever vector width its auto-vectoriser would
pick; every lane computes exactly the scalar formula of ``skycall.dsp._fma.cmul`` (one multiply,
one fused multiply-add per component), so the vector and scalar paths give the same bits.

* ``rotate3_x16``: 16 consecutive samples out[k + j] = x[k + j]·(R_j·(E_j·Y_j)), some lanes
  optionally masked off or taken from the next table row.
* ``chirp_cis_x16``: 16 consecutive entries of the float32 phasor table exp(j2π(c0 + α·k + γ·k²)).
"""

import math

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I32, _I64, _F32, _F64 = ir.IntType(32), ir.IntType(64), ir.FloatType(), ir.DoubleType()


def _vec(elem, width):
    return ir.VectorType(elem, width)


def _vcall(builder, name, *args):
    """The LLVM vector intrinsic ``llvm.<name>`` on float vectors of one type (e.g. fma, roundeven)."""
    vty = args[0].type
    suffix = "f64" if vty.element == _F64 else "f32"
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vty, [vty] * len(args)), f"llvm.{name}.v{vty.count}{suffix}"
    )
    return builder.call(fn, list(args))


def _vfma(builder, a, b, c):
    """a·b + c lane-wise with one rounding."""
    return _vcall(builder, "fma", a, b, c)


def _vconst(elem, width, value):
    """A vector constant: ``value`` in every lane, or one value per lane."""
    values = value if isinstance(value, list | tuple) else [value] * width
    return ir.Constant(_vec(elem, width), values)


def _vcmul(builder, ar, ai, br, bi):
    """(ar + j·ai)(br + j·bi) lane-wise, the formula of skycall.dsp._fma.cmul."""
    return _vfma(builder, ar, br, builder.fneg(builder.fmul(ai, bi))), _vfma(builder, ar, bi, builder.fmul(ai, br))


def _splat(builder, scalar, width):
    """``scalar`` broadcast to all ``width`` lanes."""
    vty = _vec(scalar.type, width)
    v = builder.insert_element(ir.Constant(vty, ir.Undefined), scalar, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, ir.Constant(vty, ir.Undefined), _vconst(_I32, width, 0))


def _f32_vectors(*tys):
    """True when every numba type in ``tys`` is a 1-D float32 array (what the kernels address)."""
    return all(isinstance(t, types.Array) and t.dtype == types.float32 and t.ndim == 1 for t in tys)


def _pointer(context, builder, aryty, ary, offset, vty):
    """Pointer to ``vty`` at element ``offset`` (int64) of the 1-D array ``ary``."""
    data = context.make_array(aryty)(context, builder, ary).data
    return builder.bitcast(builder.gep(data, [offset]), vty.as_pointer())


def _index(context, builder, value, ty):
    """An integer argument of numba type ``ty`` as an LLVM i64."""
    return context.cast(builder, value, ty, types.int64)


def _masked(builder, op, vty, pointer, mask, value=None):
    """``llvm.masked.load`` (lanes off the mask read nothing and give 0) or ``llvm.masked.store``
    (lanes off the mask are left alone) of the float vector type ``vty`` at ``pointer``."""
    mty, pty, align = _vec(ir.IntType(1), vty.count), vty.as_pointer(), ir.Constant(_I32, 4)
    name = f"llvm.masked.{op}.v{vty.count}f32.p0v{vty.count}f32"
    if op == "load":
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [pty, _I32, mty, vty]), name)
        return builder.call(fn, [pointer, align, mask, ir.Constant(vty, None)])
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [vty, pty, _I32, mty]), name)
    return builder.call(fn, [value, pointer, align, mask])


def _table_scope(module):
    """Alias-scope metadata saying that the stores to ``out`` never touch the tables: LLVM may then keep
    table entries (E, R) in registers across a loop of vectors instead of reloading them after each store."""
    domain = module.add_metadata([ir.MetaDataString(module, "skycall.dsp._simd tables")])
    return module.add_metadata([module.add_metadata([ir.MetaDataString(module, "tables"), domain])])


@intrinsic
def rotate3_x16(typingctx, xf, of, k, tabs, er_at, ei_at, yr_at, yi_at, rr_at, ri_at, y_back, split, lo, hi):
    """out[k + j] = x[k + j]·(R_j·(E_j·Y_j)) for the lanes lo ≤ j < hi of 16 consecutive samples
    (the other lanes of x are not read, of ``out`` not written); xf/of float32 views of complex64.

    From the float32 array ``tabs``: E_j = tabs[er_at + j] + i·tabs[ei_at + j]; lanes j < split
    take Y_j = tabs[yr_at + j] + i·tabs[yi_at + j] and R_j = tabs[rr_at] + i·tabs[ri_at], lanes
    j ≥ split (the start of the next table row) Y from ``y_back`` entries earlier and R from the next
    entries, tabs[rr_at + 1] + i·tabs[ri_at + 1]. With constant split = 16, lo = 0, hi = 16 the
    selects and masks fold away (plain loads and stores).
    """
    indices = (k, er_at, ei_at, yr_at, yi_at, rr_at, ri_at, y_back, split, lo, hi)
    if not (_f32_vectors(xf, of, tabs) and all(isinstance(t, types.Integer) for t in indices)):
        return None
    sig = types.void(xf, of, k, tabs, er_at, ei_at, yr_at, yi_at, rr_at, ri_at, y_back, split, lo, hi)
    width = 16
    v, v2 = _vec(_F32, width), _vec(_F32, 2 * width)
    even = _vconst(_I32, width, list(range(0, 2 * width, 2)))
    odd = _vconst(_I32, width, list(range(1, 2 * width, 2)))
    interleave = _vconst(_I32, 2 * width, [j // 2 + (width if j % 2 else 0) for j in range(2 * width)])
    pairs = _vconst(_I32, 2 * width, [j // 2 for j in range(2 * width)])  # sample lane of each float
    lanes = _vconst(_I32, width, list(range(width)))

    def codegen(context, builder, signature, args):
        ty = signature.args
        at = [
            _index(context, builder, a, t) if isinstance(t, types.Integer) else None
            for a, t in zip(args, ty, strict=True)
        ]

        tables = _table_scope(builder.module)

        def table(offset, vty=v):
            value = builder.load(_pointer(context, builder, ty[3], args[3], offset, vty), align=4)
            value.set_metadata("alias.scope", tables)
            return value

        def lanes_from(n):  # lanes j >= at[n] (0 ≤ at[n] ≤ 16: compared in 32 bits, one instruction)
            return builder.icmp_signed(">=", lanes, _splat(builder, builder.trunc(at[n], _I32), width))

        keep = builder.and_(lanes_from(12), builder.not_(lanes_from(13)))
        keep2 = builder.shuffle_vector(keep, keep, pairs)
        nxt = lanes_from(11)
        k2 = builder.shl(at[2], ir.Constant(_I64, 1))
        xv = _masked(builder, "load", v2, _pointer(context, builder, ty[0], args[0], k2, v2), keep2)
        xr, xi = builder.shuffle_vector(xv, xv, even), builder.shuffle_vector(xv, xv, odd)
        yr, yi = (builder.select(nxt, table(builder.sub(at[n], at[10])), table(at[n])) for n in (6, 7))
        one = ir.Constant(_I64, 1)
        rr, ri = (
            builder.select(
                nxt,
                _splat(builder, table(builder.add(at[n], one), _F32), width),
                _splat(builder, table(at[n], _F32), width),
            )
            for n in (8, 9)
        )
        sr, si = _vcmul(builder, table(at[4]), table(at[5]), yr, yi)
        pr, pi = _vcmul(builder, rr, ri, sr, si)
        zr, zi = _vcmul(builder, xr, xi, pr, pi)
        out_ptr = _pointer(context, builder, ty[1], args[1], k2, v2)
        store = _masked(builder, "store", v2, out_ptr, keep2, builder.shuffle_vector(zr, zi, interleave))
        store.set_metadata("noalias", tables)
        return context.get_dummy_value()

    return sig, codegen


# Taylor coefficients of cos θ (to θ⁸) and sin θ / θ (to θ⁸) for |θ| ≤ π/4, highest first (float32)
_COS = [1 / 40320, -1 / 720, 1 / 24, -1 / 2, 1.0]
_SIN = [1 / 362880, -1 / 5040, 1 / 120, -1 / 6, 1.0]


def _horner(builder, coeffs, x, width):
    """Σ coeffs[i]·x^(n−i) by Horner's rule in float32 vectors, one fused multiply-add per step."""
    acc = _vconst(_F32, width, coeffs[0])
    for c in coeffs[1:]:
        acc = _vfma(builder, acc, x, _vconst(_F32, width, c))
    return acc


@intrinsic
def chirp_cis_x16(typingctx, tabs, re_at, im_at, k, c0, alpha, gamma):
    """tabs[re_at + k + j] + j·tabs[im_at + k + j] = exp(j2π·t_j), j < 16, t_j = c0 + α·m + γ·m² (m = k + j).

    Phase t_j = fma(m, fma(γ, m, α), c0) in float64, reduced to a quadrant n = round(4t) and a
    residual f = t − n/4 ∈ [−1/8, 1/8] cycle (both steps exact in float64); θ = 2πf (float32) goes
    through Taylor polynomials to θ⁸ / θ⁹ (truncation < 3e-8 at π/4), the result is turned by n
    quarter turns: |error| < 1.2e-7. Sixteen lanes of float64 are two AVX-512 registers (LLVM's
    auto-vectoriser keeps 256-bit ones on this CPU).
    """
    if not _f32_vectors(tabs):
        return None
    sig = types.void(tabs, re_at, im_at, k, c0, alpha, gamma)
    width = 16
    lanes = list(range(width))

    def codegen(context, builder, signature, args):
        ty = signature.args
        tabs_, re_at_, im_at_, k_ = args[:4]
        c0_, alpha_, gamma_ = (
            _splat(builder, context.cast(builder, args[j], ty[j], types.float64), width) for j in (4, 5, 6)
        )
        k64 = _index(context, builder, k_, ty[3])
        m = builder.fadd(_splat(builder, builder.sitofp(k64, _F64), width), _vconst(_F64, width, lanes))
        t = _vfma(builder, m, _vfma(builder, gamma_, m, alpha_), c0_)
        t4 = builder.fmul(_vconst(_F64, width, 4.0), t)  # quarter turns: exact (a power of two)
        n = _vcall(builder, "roundeven", t4)  # t4 − n is exact as well
        th = builder.fptrunc(builder.fmul(builder.fsub(t4, n), _vconst(_F64, width, 0.5 * math.pi)), _vec(_F32, width))
        th2 = builder.fmul(th, th)
        cos, sin = _horner(builder, _COS, th2, width), builder.fmul(th, _horner(builder, _SIN, th2, width))
        n64 = builder.fptosi(n, _vec(_I64, width))  # |n| may exceed 2^31
        quad = builder.trunc(builder.and_(n64, _vconst(_I64, width, 3)), _vec(_I32, width))
        odd = builder.icmp_signed("!=", builder.and_(quad, _vconst(_I32, width, 1)), _vconst(_I32, width, 0))
        re, im = builder.select(odd, sin, cos), builder.select(odd, cos, sin)
        one, two = _vconst(_I32, width, 1), _vconst(_I32, width, 2)
        flip_re = builder.or_(builder.icmp_signed("==", quad, one), builder.icmp_signed("==", quad, two))
        re = builder.select(flip_re, builder.fneg(re), re)
        im = builder.select(builder.icmp_signed(">=", quad, two), builder.fneg(im), im)
        for at, value, at_ty in ((re_at_, re, ty[1]), (im_at_, im, ty[2])):
            offset = builder.add(_index(context, builder, at, at_ty), k64)
            builder.store(value, _pointer(context, builder, ty[0], tabs_, offset, value.type), align=4)
        return context.get_dummy_value()

    return sig, codegen
