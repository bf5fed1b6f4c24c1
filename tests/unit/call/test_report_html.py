"""The call report page: every section of the summary, numbers rounded, text escaped."""

import re

from skycall.call.report import html_report


def test_every_section_is_listed_with_rounded_numbers_and_escaped_text():
    summary = {
        "call_connected": True, "setup_time_s": 0.16000000000000003, "failure_reason": "<b>none</b>",
        "dl": {"pesq_nb": 2.8336544036865234, "fer": 0.0},
        "link": {"sinr_db_min": 6.435912345678, "parts": {"c_db": -120.123456, "n": [1.23456789, 2]}},
        "radio": {"handset": {"rx_rms_dbfs": -19.987654321}},
    }
    page = html_report(summary, None)
    cells = dict(re.findall(r"<tr><th>([^<]+)</th><td>([^<]*)</td></tr>", page))
    assert cells["setup_time_s"] == "0.16" and cells["dl.pesq_nb"] == "2.834" and cells["dl.fer"] == "0"
    assert cells["link.sinr_db_min"] == "6.436"
    assert cells["link.parts"] == "c_db: -120.1, n: [1.235, 2]"
    assert cells["radio.handset"] == "rx_rms_dbfs: -19.99"
    assert cells["failure_reason"] == "&lt;b&gt;none&lt;/b&gt;"
    assert not re.search(r"\d\.\d{5,}", page)  # no raw 15-digit floats anywhere
    assert "<img" not in page  # no plot given
