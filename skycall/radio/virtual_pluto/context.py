"""The ADALM-PLUTO's IIO context as a table: devices, channels, attributes and their power-on values.

The table is data (one row per attribute, with the value the stock firmware reports after boot);
:func:`context_xml` renders it in libiio's XML schema, which is what ``iiod`` answers to ``PRINT``.
Only the three devices pyadi-iio's ``adi.Pluto`` uses are emulated: ``ad9361-phy`` (control),
``cf-ad9361-lpc`` (ADC capture, 12-bit samples in 16-bit words, ``le:S12/16>>0``) and
``cf-ad9361-dds-core-lpc`` (DAC, ``le:S16/16>>0``).
"""

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr


@dataclass(frozen=True)
class Channel:
    """One IIO channel; ``scan`` is ``(index, format)`` for a buffer (scan-element) channel."""

    id: str
    output: bool
    attrs: dict[str, str]
    name: str = ""
    scan: tuple[int, str] | None = None


@dataclass(frozen=True)
class Device:
    """One IIO device: channels (scan elements first, so their mask bits are 0, 1, …) and attributes."""

    id: str
    name: str
    channels: list[Channel]
    attrs: dict[str, str] = field(default_factory=dict)
    debug_attrs: dict[str, str] = field(default_factory=dict)
    buffer_attrs: dict[str, str] = field(default_factory=dict)


RX_FORMAT = "le:S12/16>>0"
TX_FORMAT = "le:S16/16>>0"
PHY, RXADC, TXDAC = "ad9361-phy", "cf-ad9361-lpc", "cf-ad9361-dds-core-lpc"
PACING_ATTR = "skycall,paced_by"

_LO_ATTRS = {
    "frequency": "",
    "frequency_available": "[325000000 1 3800000000]",
    "powerdown": "0",
    "external": "0",
}
_RATE = "30720000"


def _phy_rx() -> dict[str, str]:
    return {
        "hardwaregain": "71.000000 dB",
        "hardwaregain_available": "[-3 1 71]",
        "gain_control_mode": "slow_attack",
        "gain_control_mode_available": "manual fast_attack slow_attack hybrid",
        "rf_bandwidth": "18000000",
        "rf_bandwidth_available": "[200000 1 56000000]",
        "sampling_frequency": _RATE,
        "sampling_frequency_available": "[2083333 1 61440000]",
        "rssi": "100.00 dB",
        "rf_port_select": "A_BALANCED",
        "rf_port_select_available": "A_BALANCED B_BALANCED C_BALANCED A_N A_P B_N B_P C_N C_P",
        "quadrature_tracking_en": "1",
        "rf_dc_offset_tracking_en": "1",
        "bb_dc_offset_tracking_en": "1",
        "filter_fir_en": "0",
    }


def _phy_tx() -> dict[str, str]:
    return {
        "hardwaregain": "-10.000000 dB",
        "hardwaregain_available": "[-89.750000 0.250000 0.000000]",
        "rf_bandwidth": "18000000",
        "rf_bandwidth_available": "[200000 1 40000000]",
        "sampling_frequency": _RATE,
        "sampling_frequency_available": "[2083333 1 61440000]",
        "rssi": "0.00 dB",
        "rf_port_select": "A",
        "rf_port_select_available": "A B",
        "filter_fir_en": "0",
    }


def _dma_attrs() -> dict[str, str]:
    return {"calibphase": "0.000000", "calibscale": "1.000000", "sampling_frequency": _RATE,
            "sampling_frequency_available": "30720000 3840000"}  # fmt: skip


def _dds_tone(name: str) -> Channel:
    attrs = {
        "frequency": "9279985",
        "phase": "90000",
        "raw": "1",
        "sampling_frequency": _RATE,
        "scale": "0.0",
    }
    return Channel(name[0], True, attrs, name=name[1])


def pluto_devices(serial: str, lockstep: bool = True) -> tuple[dict[str, str], list[Device]]:
    """Return ``(context_attributes, devices)`` with the stock firmware's power-on values.

    ``lockstep`` adds the context attribute ``skycall,paced_by = sample_index``: a device with no DMA
    clock, whose streams advance when its peer moves samples (a free-running one has no such attribute).
    """
    context_attrs = {
        "hw_model": "Analog Devices PlutoSDR Rev.C (Z7010-AD9363A) [skycall virtual]",
        "hw_model_variant": "0",
        "hw_serial": serial,
        "fw_version": "v0.38",
        "ad9361-phy,xo_correction": "40000000",
        "ad9361-phy,model": "ad9363a",
        "local,kernel": "5.15.0-skycall-virtual",
    }
    if lockstep:
        context_attrs[PACING_ATTR] = "sample_index"
    phy = Device(
        "iio:device0",
        PHY,
        [
            Channel("altvoltage0", True, {**_LO_ATTRS, "frequency": "2400000000"}, name="RX_LO"),
            Channel("altvoltage1", True, {**_LO_ATTRS, "frequency": "2450000000"}, name="TX_LO"),
            Channel("voltage0", False, _phy_rx()),
            Channel("voltage0", True, _phy_tx()),
            Channel("out", False, {"voltage_filter_fir_en": "0"}),
            Channel("temp0", False, {"input": "35000"}),
        ],
        attrs={
            "calib_mode": "auto",
            "calib_mode_available": "auto manual manual_tx_quad tx_quad rf_dc_offs rssi_gain_step",
            "ensm_mode": "fdd",
            "ensm_mode_available": "sleep wait alert fdd pinctrl pinctrl_fdd_indep",
            "filter_fir_config": "FIR Rx: 0,0 Tx: 0,0",
            "rx_path_rates": "",
            "tx_path_rates": "",
            "trx_rate_governor": "nominal",
            "trx_rate_governor_available": "nominal highest_osr",
            "xo_correction": "40000000",
            "xo_correction_available": "[39992000 1 40008000]",
        },
        debug_attrs={"loopback": "0", "initialize": "0"},
    )
    rxadc = Device(
        "iio:device1",
        RXADC,
        [
            Channel("voltage0", False, {**_dma_attrs(), "calibbias": "0"}, scan=(0, RX_FORMAT)),
            Channel("voltage1", False, {**_dma_attrs(), "calibbias": "0"}, scan=(1, RX_FORMAT)),
        ],
        debug_attrs={"direct_reg_access": "0x0"},
        buffer_attrs={"data_available": "0"},
    )
    txdac = Device(
        "iio:device2",
        TXDAC,
        [
            Channel("voltage0", True, _dma_attrs(), scan=(0, TX_FORMAT)),
            Channel("voltage1", True, _dma_attrs(), scan=(1, TX_FORMAT)),
            _dds_tone(("altvoltage0", "TX1_I_F1")),
            _dds_tone(("altvoltage1", "TX1_I_F2")),
            _dds_tone(("altvoltage2", "TX1_Q_F1")),
            _dds_tone(("altvoltage3", "TX1_Q_F2")),
        ],
        debug_attrs={"direct_reg_access": "0x0"},
        buffer_attrs={"data_available": "0"},
    )
    return context_attrs, [phy, rxadc, txdac]


def _channel_xml(chn: Channel) -> str:
    direction = "out" if chn.output else "in"
    parts = [f"<channel id={quoteattr(chn.id)}"]
    if chn.name:
        parts.append(f" name={quoteattr(chn.name)}")
    parts.append(f" type={quoteattr('output' if chn.output else 'input')} >")
    if chn.scan:
        parts.append(f"<scan-element index={quoteattr(str(chn.scan[0]))} format={quoteattr(chn.scan[1])} />")
    for attr in chn.attrs:
        filename = f"{direction}_{chn.id}_{attr}"
        parts.append(f"<attribute name={quoteattr(attr)} filename={quoteattr(filename)} />")
    parts.append("</channel>")
    return "".join(parts)


#: Document type of an IIO context (libiio validates the XML against an internal subset).
CONTEXT_DTD = (
    "<!DOCTYPE context ["
    "<!ELEMENT context (context-attribute*, device*)>"
    "<!ELEMENT context-attribute EMPTY>"
    "<!ELEMENT device (channel*, attribute*, debug-attribute*, buffer-attribute*)>"
    "<!ELEMENT channel (scan-element?, attribute*)>"
    "<!ELEMENT attribute EMPTY>"
    "<!ELEMENT scan-element EMPTY>"
    "<!ELEMENT debug-attribute EMPTY>"
    "<!ELEMENT buffer-attribute EMPTY>"
    "<!ATTLIST context name CDATA #REQUIRED description CDATA #IMPLIED "
    "version-major CDATA #IMPLIED version-minor CDATA #IMPLIED version-git CDATA #IMPLIED>"
    "<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>"
    "<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED label CDATA #IMPLIED>"
    "<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED>"
    "<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>"
    "<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED value CDATA #IMPLIED>"
    "<!ATTLIST debug-attribute name CDATA #REQUIRED value CDATA #IMPLIED>"
    "<!ATTLIST buffer-attribute name CDATA #REQUIRED value CDATA #IMPLIED>"
    "]>"
)


def context_xml(context_attrs: dict[str, str], devices: list[Device]) -> str:
    """Render the context in libiio's XML schema (what ``iiod`` sends in reply to ``PRINT``)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        CONTEXT_DTD,
        '<context name="local" version-major="0" version-minor="24" version-git="skycall" '
        'description="skycall virtual PlutoSDR" >',
    ]
    parts += [f"<context-attribute name={quoteattr(k)} value={quoteattr(v)} />" for k, v in context_attrs.items()]
    for dev in devices:
        parts.append(f"<device id={quoteattr(dev.id)} name={quoteattr(dev.name)} >")
        parts += [_channel_xml(chn) for chn in dev.channels]
        parts += [f"<attribute name={quoteattr(a)} />" for a in dev.attrs]
        parts += [f"<debug-attribute name={quoteattr(a)} />" for a in dev.debug_attrs]
        parts += [f"<buffer-attribute name={quoteattr(a)} />" for a in dev.buffer_attrs]
        parts.append("</device>")
    parts.append("</context>")
    return "".join(parts)
