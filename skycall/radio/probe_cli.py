"""``skycall probe``: list the radios that answer (Plutos over libiio, SoapySDR devices) and check each."""

import logging

from skycall.config.hw_profile import HwProfile, load_hw_profile
from skycall.errors import MissingDependency

log = logging.getLogger(__name__)

PLUTO_DEVICES = ("ad9361-phy", "cf-ad9361-lpc", "cf-ad9361-dds-core-lpc")


def add_arguments(parser) -> None:
    parser.add_argument("--uri", action="append", default=[], help="also try this libiio URI (repeatable)")
    parser.add_argument("--no-scan", action="store_true", help="only try the --uri given, no discovery")


def _attr(ctx, name: str) -> str:
    value = ctx.attrs.get(name, "")
    return getattr(value, "value", value)


def check_pluto(ctx, profile: HwProfile) -> list[str]:
    """Problems of a libiio context against the Pluto profile (empty list: fits)."""
    names = {dev.name for dev in ctx.devices}
    problems = [f"missing IIO device {d}" for d in PLUTO_DEVICES if d not in names]
    if problems:
        return problems
    lo = ctx.find_device("ad9361-phy").find_channel("altvoltage0", True).attrs["frequency_available"].value
    lo_min, _, lo_max = (float(v) for v in lo.strip("[]").split())
    if lo_min > profile.freq_min_hz or lo_max < profile.freq_max_hz:
        problems.append(f"LO range {lo_min / 1e6:.0f}-{lo_max / 1e6:.0f} MHz narrower than the profile's")
    return problems


def find_plutos(uris: list[str], scan: bool) -> list[tuple[str, str, list[str]]]:
    """``(uri, serial, problems)`` for each Pluto reachable by discovery or at ``uris``."""
    import iio

    found_uris = list(uris)
    if scan:
        try:
            found_uris += [
                uri for uri, desc in iio.scan_contexts().items() if "PlutoSDR" in desc or "9361" in desc
            ]
        except OSError as err:
            log.info("libiio discovery failed: %s", err)
    profile = load_hw_profile("pluto")
    radios = []
    for uri in dict.fromkeys(found_uris):
        try:
            ctx = iio.Context(uri)
        except OSError as err:
            print(f"  {uri}: no answer ({err})")
            continue
        radios.append((uri, _attr(ctx, "hw_serial"), check_pluto(ctx, profile)))
        del ctx
    return radios


def find_soapy() -> list[tuple[str, str, list[str]]]:
    """``(args, serial, problems)`` for each SoapySDR device (HackRFs checked against their profile)."""
    from skycall.radio.soapy import import_soapy

    soapy = import_soapy()
    radios = []
    for info in soapy.Device.enumerate():
        info = dict(info)
        driver = info.get("driver", "?")
        problems = [] if driver == "hackrf" else [f"no hw_profile for driver {driver!r}"]
        radios.append((f"driver={driver},serial={info.get('serial', '')}", info.get("serial", ""), problems))
    return radios


def run(args) -> int:
    radios = find_plutos(args.uri, not args.no_scan)
    try:
        radios += find_soapy()
    except MissingDependency as err:
        print(f"  SoapySDR devices not listed: {err}")
    if not radios:
        print("no radio found: no Pluto answered (libiio discovery and --uri) and SoapySDR lists no device.")
        print("Plug a radio in, or start `skycall virtual-pluto` and pass --uri ip:127.0.0.1:30431.")
        return 1
    for where, serial, problems in radios:
        verdict = "OK" if not problems else "PROBLEM: " + "; ".join(problems)
        print(f"{where}  serial={serial or '?'}  {verdict}")
    return 0 if all(not p for _, _, p in radios) else 1
