"""``skycall ber``: Eb/N0 sweep of the full modem chain against the closed-form curves.

Each point runs the frames through transmitter -> CFO + Doppler ramp -> AWGN -> receiver
(:func:`skycall.modem.ber.simulate_chain`) and through a genie-synchronised decoder
(:func:`skycall.modem.ber.simulate_genie`). Printed and written (``--json``):

* per point: uncoded BER (hard decisions before the decoder) vs Q(√(2Eb/N0)), coded BER vs the genie
  run and the soft-Viterbi union bound, FER, cycle slips;
* ``impl_loss_db``: extra Eb/N0 the synchronised chain needs for uncoded BER 1e-3 over Q(√(2Eb/N0));
* ``coded_loss_db``: extra Eb/N0 the chain needs over the genie run for coded BER 1e-4.

Both are None when the measured curve does not cross the target inside the sweep.
"""

import argparse
import json
import sys

import numpy as np

from skycall.errors import SkycallError
from skycall.fileio import atomic_path, atomic_write
from skycall.metrics.ber_theory import ebn0_at_ber, qpsk_ber, qpsk_ebn0_db, viterbi_union_bound
from skycall.modem.ber import point_record, simulate_chain, simulate_genie
from skycall.modem.profiles import PROFILES, get_profile
from skycall.modem.waveform import WaveformConfig

UNCODED_TARGET = 1e-3
CODED_TARGET = 1e-4


def parse_range(text: str) -> np.ndarray:
    """``START:STEP:STOP`` (inclusive, dB) or a single value -> float64 array."""
    try:
        parts = [float(v) for v in text.split(":")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        return np.array(parts)
    if len(parts) != 3 or parts[1] <= 0 or parts[2] < parts[0]:
        raise SkycallError(f"--ebn0 must be START:STEP:STOP with STEP > 0 and STOP >= START, got {text!r}")
    start, step, stop = parts
    return start + step * np.arange(int(np.floor((stop - start) / step + 1e-9)) + 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default="satellite", help="receiver profile")
    parser.add_argument("--cfo-hz", type=float, default=0.0, help="carrier offset at the first sample, Hz")
    parser.add_argument("--rate-hz-s", type=float, default=0.0, help="Doppler rate (linear ramp), Hz/s")
    parser.add_argument(
        "--ebn0", default="-1:1:8", metavar="START:STEP:STOP", help="channel-bit Eb/N0 sweep, dB (inclusive)"
    )
    parser.add_argument("--frames", type=int, default=200, help="counted frames per point (748 coded bits each)")
    parser.add_argument("--seed", type=int, default=1, help="seed of payloads, noise and start phase")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="plot measured vs closed-form curves")


def sweep(args: argparse.Namespace, out=None, err=None) -> dict:
    """Run the sweep described by ``args``; print a table to ``out`` (stdout) and progress to ``err``
    (stderr)."""
    out, err = out or sys.stdout, err or sys.stderr
    waveform, profile = WaveformConfig(), get_profile(args.profile)
    points = []
    print(
        f"profile {profile.name}, CFO {args.cfo_hz:g} Hz, ramp {args.rate_hz_s:g} Hz/s, {args.frames} frames/point",
        file=out,
    )
    print(
        f"{'Eb/N0':>6} {'Es/N0':>6} {'BER':>9} {'Q(√2γ)':>9} {'BERcoded':>9} {'genie':>9} "
        f"{'bound':>9} {'FER':>7} {'slips':>5}",
        file=out,
        flush=True,
    )
    for ebn0 in parse_range(args.ebn0):

        def progress(done, total, ebn0=ebn0):
            print(f"\r  Eb/N0 {ebn0:5.2f} dB: {done}/{total} frames", end="", file=err, flush=True)

        chain = simulate_chain(
            waveform, profile, ebn0, args.frames, args.seed, args.cfo_hz, args.rate_hz_s, progress=progress
        )
        print("\r" + " " * 48 + "\r", end="", file=err, flush=True)
        rec = point_record(chain, simulate_genie(waveform, ebn0, args.frames, args.seed))
        points.append(rec)
        print(
            f"{rec['ebn0_db']:6.2f} {rec['esn0_db']:6.2f} {rec['ber']:9.2e} {rec['ber_theory_uncoded']:9.2e} "
            f"{rec['ber_coded']:9.2e} {rec['ber_coded_genie']:9.2e} {rec['ber_theory_coded_bound']:9.2e} "
            f"{rec['fer']:7.3f} {chain.cycle_slips:5d}",
            file=out,
            flush=True,
        )
    x = np.array([p["ebn0_db"] for p in points])
    at_uncoded = ebn0_at_ber(x, [p["ber"] for p in points], UNCODED_TARGET)
    at_coded = ebn0_at_ber(x, [p["ber_coded"] for p in points], CODED_TARGET)
    at_genie = ebn0_at_ber(x, [p["ber_coded_genie"] for p in points], CODED_TARGET)
    result = {
        "profile": profile.name,
        "cfo_hz": args.cfo_hz,
        "rate_hz_s": args.rate_hz_s,
        "frames": args.frames,
        "seed": args.seed,
        "points": points,
        "impl_loss_db": None if at_uncoded is None else at_uncoded - qpsk_ebn0_db(UNCODED_TARGET),
        "coded_loss_db": None if at_coded is None or at_genie is None else at_coded - at_genie,
        "uncoded_target_ber": UNCODED_TARGET,
        "coded_target_ber": CODED_TARGET,
    }
    for key, label in (("impl_loss_db", "uncoded loss at 1e-3"), ("coded_loss_db", "coded loss vs genie at 1e-4")):
        value = result[key]
        print(f"{label}: " + ("not reached in this sweep" if value is None else f"{value:.2f} dB"), file=out)
    return result


def plot(result: dict, path: str) -> None:
    """Measured uncoded/coded/genie BER with Q(√(2Eb/N0)) and the union bound (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = result["points"]
    x = np.array([p["ebn0_db"] for p in pts])
    xi = np.array([p["ebn0_info_db"] for p in pts])
    fine = np.linspace(x.min(), xi.max() + 1.0, 200)
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.semilogy(fine, qpsk_ber(fine), "k-", label="QPSK theory Q(√(2Eb/N0)), per channel bit")
    ax.semilogy(x, [p["ber"] for p in pts], "o-", label="uncoded, full chain")
    ax.semilogy(fine, viterbi_union_bound(fine), "k--", label="K=7 r=1/2 union bound, per info bit")
    ax.semilogy(xi, [p["ber_coded"] for p in pts], "s-", label="coded, full chain (Eb info)")
    ax.semilogy(xi, [p["ber_coded_genie"] for p in pts], "^:", label="coded, genie sync (Eb info)")
    ax.set_ylim(1e-6, 0.5)
    ax.set_xlabel("Eb/N0 (dB)")
    ax.set_ylabel("bit error rate")
    ax.set_title(
        f"{result['profile']}: CFO {result['cfo_hz']:g} Hz, {result['rate_hz_s']:g} Hz/s, {result['frames']} frames/pt"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def _json_safe(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise SkycallError(f"--frames must be >= 1, got {args.frames}")
    result = sweep(args)
    if args.json:
        atomic_write(args.json, json.dumps(_json_safe(result), indent=2) + "\n")
    if args.plot:
        plot(result, args.plot)
    return 0
