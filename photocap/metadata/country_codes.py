"""ISO 3166-1 country codes in either form, for IPTC-IIM's Country Code and for place filters that name a country by
either: two letters to three (PT -> PRT) and back. The table is photocap.metadata.country_table."""

from __future__ import annotations

from photocap.metadata.country_table import ALPHA3

ALPHA2 = {three: two for two, three in ALPHA3.items()}


def alpha3(code: str | None) -> str | None:
    """The three-letter form of a country code given in two or three letters, or None if it is not one."""
    code = (code or "").strip().upper()
    if len(code) == 3 and code in ALPHA2:
        return code
    return ALPHA3.get(code)


def alpha2(code: str | None) -> str | None:
    """The two-letter form of a country code given in two or three letters, or None if it is not one."""
    code = (code or "").strip().upper()
    if len(code) == 2 and code in ALPHA3:
        return code
    return ALPHA2.get(code)
