"""``skycall pass``: geometry, Doppler (before/after beam-centre pre-compensation), beams and Es/N0 of a pass.

Examples::

    skycall pass --tle groundstation/data/skycall-1.tle --lat 40.4 --lon -3.7 --next-pass --json pass.json
    skycall pass --altitude-km 600 --lat 48.1 --lon 11.6 --start 2025-06-01T12:00:00Z --duration-s 600 \\
        --plot pass.png

With ``--altitude-km`` the circular orbit is placed so that it culminates at the observer's zenith
in the middle of the window (``--start`` + ``--duration-s``/2, or now + 10 min with ``--next-pass``).
Earth-fixed hexagonal beams are centred on the observer (the service point), laid out as a
flowgraph's ``[beam]`` would (``--taper``, ``--cell-layout``, ``--reuse``; see groundstation.cells);
the handset is the observer moved by ``--handset-offset-km EAST NORTH`` (e.g. to a cell edge).
The link budget of ``--link-preset`` is printed term by term, downlink and uplink, at the highest
and the lowest elevation of the window, with the C/I of the co-channel beams and the C/(N+I).
"""

import argparse
import json
import math
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np

from groundstation.array import TAPERS
from groundstation.beams import BeamEmulator, EarthFixedBeams, nadir_footprint_diameter_m
from groundstation.cells import build_array, design_cells
from groundstation.geodesy import tangent_offset_to_geodetic
from groundstation.handset_channel import LinkQuality
from groundstation.link_budget import DEFAULT_PRESET, PRESETS, preset
from groundstation.orbit import CircularOrbit, SGP4Orbit
from groundstation.passes import Observer, find_passes, next_pass
from groundstation.trajectory import DL_FREQ_HZ, UL_FREQ_HZ, ChannelTrajectory
from skycall.errors import ConfigError
from skycall.fileio import atomic_path, atomic_write
from skycall.modem.waveform import WaveformConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    orbit = parser.add_mutually_exclusive_group(required=True)
    orbit.add_argument("--tle", metavar="FILE", help="two-line element file (optionally with a name line)")
    orbit.add_argument("--altitude-km", type=float, help="circular orbit altitude instead of a TLE")
    parser.add_argument("--inclination-deg", type=float, default=53.0, help="circular orbit inclination")
    parser.add_argument("--lat", type=float, required=True, help="observer/handset geodetic latitude, deg")
    parser.add_argument("--lon", type=float, required=True, help="observer/handset longitude, deg E")
    parser.add_argument("--alt-m", type=float, default=0.0, help="observer height above the ellipsoid, m")
    parser.add_argument(
        "--handset-offset-km",
        type=float,
        nargs=2,
        default=(0.0, 0.0),
        metavar=("EAST", "NORTH"),
        help="handset position relative to the observer (the beam grid's centre), km",
    )
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--start", help="window start, ISO 8601 UTC (e.g. 2025-06-01T12:00:00Z)")
    when.add_argument("--next-pass", action="store_true", help="the next pass after the TLE epoch (or now)")
    parser.add_argument("--after", help="with --next-pass: search from this ISO 8601 time instead")
    parser.add_argument("--duration-s", type=float, help="window length (default: the whole pass / 600 s)")
    parser.add_argument("--step-s", type=float, default=1.0, help="time step of the output samples")
    parser.add_argument("--min-elevation-deg", type=float, default=10.0, help="pass elevation mask")
    parser.add_argument("--freq-hz", type=float, default=DL_FREQ_HZ, help="downlink carrier")
    parser.add_argument("--ul-freq-hz", type=float, default=UL_FREQ_HZ, help="uplink carrier")
    parser.add_argument("--array", default="16x16", help="planar array size NxM (lambda/2 at --freq-hz)")
    parser.add_argument("--phase-bits", type=int, help="phase-shifter resolution (default: exact)")
    parser.add_argument("--taper", default="taylor", choices=TAPERS, help="array amplitude taper")
    parser.add_argument("--taylor-sll-db", type=float, default=25.0, help="Taylor taper side-lobe level")
    parser.add_argument("--cell-layout", default="scan", choices=("nadir", "scan"),
                        help="cells spaced by the nadir footprint or by the scanned one (see groundstation.cells)")
    parser.add_argument("--beam-diameter-km", type=float, help="cell spacing instead of --cell-layout")
    parser.add_argument("--beam-rings", type=int, default=4, help="rings of hexagonal cells around the handset")
    parser.add_argument("--reuse", type=int, default=3, choices=(1, 3, 4, 7), help="frequency reuse factor")
    parser.add_argument("--link-preset", default=DEFAULT_PRESET, choices=tuple(PRESETS), help="link-budget set")
    parser.add_argument("--json", metavar="FILE", help="write every sample as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="plot Doppler, elevation and Es/N0")


def _parse_time(text: str, option: str) -> float:
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ConfigError("<cli>", option, f"{text!r} is not ISO 8601 (e.g. 2025-06-01T12:00:00Z)") from err
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _iso(t_unix_s: float) -> str:
    return datetime.fromtimestamp(t_unix_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_array(text: str) -> tuple[int, int]:
    try:
        n, m = (int(p) for p in text.lower().split("x"))
    except ValueError as err:
        raise ConfigError("<cli>", "--array", f"{text!r} is not NxM (e.g. 16x16)") from err
    if not (1 <= n <= 256 and 1 <= m <= 256):
        raise ConfigError("<cli>", "--array", f"{text!r}: each side must be 1-256 elements")
    return n, m


def _window(args, ephemeris, observer) -> tuple[float, float]:
    """(start, duration) of the output window."""
    if args.start:
        return _parse_time(args.start, "--start"), args.duration_s or 600.0
    epoch = getattr(ephemeris, "epoch_unix_s", datetime.now(UTC).timestamp())
    after = _parse_time(args.after, "--after") if args.after else epoch
    p = next_pass(ephemeris, observer, after, min_elevation_deg=args.min_elevation_deg)
    return p.aos_unix_s, args.duration_s or p.duration_s


def _json_value(x):
    x = float(x)
    return x if math.isfinite(x) else None


def run(args: argparse.Namespace) -> int:
    observer = Observer(args.lat, args.lon, args.alt_m)
    n_x, n_y = _parse_array(args.array)
    if args.tle:
        ephemeris = SGP4Orbit.from_file(args.tle)
    else:
        if args.start:
            centre = _parse_time(args.start, "--start") + 0.5 * (args.duration_s or 600.0)
        else:
            start = _parse_time(args.after, "--after") if args.after else datetime.now(UTC).timestamp()
            centre = start + 600.0
        ephemeris = CircularOrbit.through_zenith(observer.ecef_m, args.altitude_km * 1e3, args.inclination_deg, centre)
    start, duration = _window(args, ephemeris, observer)
    passes = find_passes(ephemeris, observer, start, search_s=duration, min_elevation_deg=args.min_elevation_deg)
    beam_cfg = SimpleNamespace(array_n=n_x, array_m=n_y, phase_bits=args.phase_bits, taper=args.taper,
                               taylor_sll_db=args.taylor_sll_db, cell_layout=args.cell_layout,
                               reuse=args.reuse, beam_rings=args.beam_rings)
    if args.beam_diameter_km or not passes:
        diameter_m = 1e3 * (args.beam_diameter_km or 0.0) or _nadir_spacing(beam_cfg, ephemeris, observer, start)
        layout = EarthFixedBeams.hexagonal(observer, diameter_m, args.beam_rings)
        beams = BeamEmulator(build_array(beam_cfg, args.freq_hz), layout, reuse=args.reuse)
        cells_text = f"{diameter_m / 1e3:.1f} km"
    else:
        cells = design_cells(beam_cfg, observer, ephemeris, passes[0], max(start, passes[0].aos_unix_s), args.freq_hz)
        beams, diameter_m = cells.beams, cells.spacing_m
        cells_text = (f"{cells.spacing_m / 1e3:.1f} x {cells.spacing_m * cells.stretch / 1e3:.1f} km "
                      f"({args.cell_layout}, sized at {cells.design_elevation_deg:.0f} deg elevation)")
    east_km, north_km = args.handset_offset_km
    handset = Observer(*tangent_offset_to_geodetic(args.lat, args.lon, east_km * 1e3, north_km * 1e3), args.alt_m)
    budget = preset(args.link_preset)
    traj = ChannelTrajectory.compute(ephemeris, handset, beams, start, duration, args.step_s, budget=budget,
                                     dl_freq_hz=args.freq_hz, ul_freq_hz=args.ul_freq_hz)
    wf = WaveformConfig(symbol_rate_sps=budget.symbol_rate_sps, sample_rate_sps=20 * budget.symbol_rate_sps)
    sinr = LinkQuality(traj, wf).at(traj.t_s)["sinr_db"]
    dl = traj.dl
    samples = [
        {
            "t_utc": _iso(start + t),
            "t_s": float(t),
            "elevation_deg": float(traj.elevation_deg[i]),
            "azimuth_deg": float(traj.azimuth_deg[i]),
            "range_m": float(traj.range_m[i]),
            "range_rate_m_s": float(traj.range_rate_m_s[i]),
            "doppler_hz": float(dl.doppler_hz[i]),
            "doppler_rate_hz_s": float(dl.doppler_rate_hz_s[i]),
            "delay_s": float(dl.delay_s[i]),
            "beam_id": int(traj.beam_id[i]),
            "gain_dbi": _json_value(dl.gain_dbi[i]),
            "residual_doppler_hz": _json_value(dl.residual_doppler_hz[i]),
            "esn0_db": _json_value(dl.esn0_db[i]),
            "c_over_i_db": _json_value(traj.c_over_i_db[i]),
            "sinr_db": _json_value(sinr[i]),
        }
        for i, t in enumerate(traj.t_s)
    ]
    summary = {
        "aos_utc": _iso(passes[0].aos_unix_s) if passes else None,
        "los_utc": _iso(passes[0].los_unix_s) if passes else None,
        "max_elevation_deg": passes[0].max_elevation_deg if passes else float(np.max(traj.elevation_deg)),
    }
    _print_summary(traj, summary, cells_text, args, sinr)
    _print_budget(traj, beams, budget, args, sinr)
    if args.json:
        atomic_write(args.json, json.dumps({"samples": samples, **summary}, indent=1))
    if args.plot:
        _plot(traj, args.plot, args.freq_hz)
    return 0


def _nadir_spacing(beam_cfg, ephemeris, observer, start) -> float:
    r0, _ = ephemeris.state_ecef(start)
    altitude_m = float(np.linalg.norm(r0)) - float(np.linalg.norm(observer.ecef_m))
    return nadir_footprint_diameter_m(build_array(beam_cfg, DL_FREQ_HZ), altitude_m)


def _print_summary(traj: ChannelTrajectory, summary: dict, cells_text: str, args, sinr) -> None:
    served = traj.beam_id >= 0
    dl = traj.dl
    rows = [
        ("AOS / LOS (UTC)", f"{summary['aos_utc']} / {summary['los_utc']}"),
        ("max elevation", f"{summary['max_elevation_deg']:.1f} deg"),
        ("window", f"{_iso(traj.t0_unix_s)} + {traj.t_s[-1]:.0f} s, step {args.step_s:g} s"),
        ("Doppler @ DL", f"{dl.doppler_hz.min() / 1e3:+.2f} .. {dl.doppler_hz.max() / 1e3:+.2f} kHz"),
        ("Doppler rate", f"max |.| {np.max(np.abs(dl.doppler_rate_hz_s)):.0f} Hz/s"),
        ("one-way delay", f"{dl.delay_s.min() * 1e3:.2f} .. {dl.delay_s.max() * 1e3:.2f} ms"),
        ("cells", f"{cells_text}, {args.taper} array, reuse {args.reuse}, {len(traj.handovers)} handovers"),
    ]
    if served.any():
        rows += [
            ("residual Doppler", f"max |.| {np.nanmax(np.abs(dl.residual_doppler_hz)):.0f} Hz after pre-comp"),
            ("DL Es/N0", f"{np.nanmin(dl.esn0_db):.1f} .. {np.nanmax(dl.esn0_db):.1f} dB"),
            ("UL Es/N0", f"{np.nanmin(traj.ul.esn0_db):.1f} .. {np.nanmax(traj.ul.esn0_db):.1f} dB"),
            ("C/I", f"{np.nanmin(traj.c_over_i_db):.1f} .. {np.nanmax(traj.c_over_i_db):.1f} dB (co-channel beams)"),
            ("DL C/(N+I)", f"{np.nanmin(sinr):.1f} .. {np.nanmax(sinr):.1f} dB at the matched filter"),
        ]
    if not served.all():
        rows.append(("not served", f"{np.count_nonzero(~served)} of {served.size} samples"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _print_budget(traj: ChannelTrajectory, beams, budget, args, sinr) -> None:
    """The link budget term by term at the highest and the lowest served elevation of the window."""
    served = np.flatnonzero(traj.beam_id >= 0)
    if served.size == 0:
        return
    cols = [int(served[np.argmax(traj.elevation_deg[served])]), int(served[np.argmin(traj.elevation_deg[served])])]
    dl_array, ul_array = beams.array.at_frequency(args.freq_hz), beams.array.at_frequency(args.ul_freq_hz)
    rho = traj.range_m[cols]
    sections = [
        (f"downlink {args.freq_hz / 1e6:.1f} MHz",
         budget.downlink_terms(traj.dl.gain_dbi[cols], dl_array, rho, args.freq_hz), traj.dl),
        (f"uplink {args.ul_freq_hz / 1e6:.1f} MHz",
         budget.uplink_terms(traj.ul.gain_dbi[cols], ul_array, rho, args.ul_freq_hz), traj.ul),
    ]
    width = 58
    print(f"\nlink budget '{budget.name}' (one {budget.symbol_rate_sps / 1e3:g} ksym/s carrier)")
    print(f"{'':<{width}}" + "".join(f"{f'elev {traj.elevation_deg[c]:.1f} deg':>16}" for c in cols))
    print(f"{'  range (km)':<{width}}" + "".join(f"{traj.range_m[c] / 1e3:>16.1f}" for c in cols))
    def row(label, values, spec=">16.2f"):
        print(f"    {label:<{width - 4}}" + "".join(format(v + 0.0, spec) for v in np.broadcast_to(values, (2,))))

    for title, terms, link in sections:
        print(f"  {title}")
        for name, value in terms:
            row(name, value, ">+16.2f")
        row("= C/N0 (dBHz)", sum(value for _, value in terms))
        row(f"= Es/N0 = C/N0 - 10 log10({budget.symbol_rate_sps:g}) (dB)", link.esn0_db[cols])
        if link is traj.dl:
            row("C/I at the handset, co-channel beams (dB)", traj.c_over_i_db[cols])
            row("C/(N+I) at the handset's matched filter (dB)", sinr[cols])


def _plot(traj: ChannelTrajectory, path: str, freq_hz: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_f, ax_el, ax_snr) = plt.subplots(3, 1, sharex=True, figsize=(8, 8))
    ax_f.plot(traj.t_s, traj.dl.doppler_hz / 1e3, label="Doppler (physical)")
    ax_f.plot(traj.t_s, traj.dl.residual_doppler_hz / 1e3, label="after beam-centre pre-compensation")
    ax_f.set_ylabel(f"kHz @ {freq_hz / 1e6:.1f} MHz")
    ax_f.legend()
    ax_el.plot(traj.t_s, traj.elevation_deg)
    ax_el.set_ylabel("elevation, deg")
    ax_snr.plot(traj.t_s, traj.dl.esn0_db, label="DL")
    ax_snr.plot(traj.t_s, traj.ul.esn0_db, label="UL")
    ax_snr.set_ylabel("Es/N0, dB")
    ax_snr.set_xlabel(f"seconds after {_iso(traj.t0_unix_s)}")
    ax_snr.legend()
    for ax in (ax_f, ax_el, ax_snr):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
