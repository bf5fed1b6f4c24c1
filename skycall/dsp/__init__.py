"""numba DSP kernels for the streaming path (kernel/wrapper split, state kept between calls).

Modules: ``rrc`` (pulse design), ``fir`` (FirFilter, FirInterpolator, FirDecimator), ``resample``
(RationalResampler), ``rotator`` (Rotator, TrajectoryRotator: the FOC kernels), ``farrow``
(FarrowDelay: time-varying fractional delay). Every block takes complex64, offers
``process(x)``, ``reset()`` and ``copy()``, and gives bit-identical output for any chunking.
Import the module you need (importing loads its compiled kernels from numba's cache).
"""
