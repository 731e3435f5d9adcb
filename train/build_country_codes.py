"""Write photocap/metadata/country_table.py: ISO 3166-1 two-letter country codes and their three-letter forms.

    python -m train.build_country_codes        # from Debian's iso-codes (/usr/share/iso-codes/json/iso_3166-1.json)

Run once, when the list changes; the module is shipped and nothing here is needed at run time. GeoNames gives a
place's country as two letters (PT); IPTC-IIM's Country/Primary Location Code (2:100) wants three (PRT), and
another application may have written either. Kosovo, which GeoNames lists as XK and ISO 3166-1 does not, is added
as XKX, as the IPTC and the European Union use it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SOURCE = Path("/usr/share/iso-codes/json/iso_3166-1.json")
OUT = Path(__file__).resolve().parents[1] / "photocap" / "metadata" / "country_table.py"
EXTRA = {"XK": "XKX"}
HEADER = '''"""ISO 3166-1 country codes, two letters to three (PT -> PRT). Written by train/build_country_codes.py from
Debian's iso-codes {version}; do not edit by hand (photocap.metadata.country_codes reads it)."""

from __future__ import annotations

ALPHA3 = {{
{rows}
}}
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--version", default="4.15.0", help="the iso-codes version the file comes from")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    countries = json.loads(args.source.read_text(encoding="utf-8"))["3166-1"]
    codes = {country["alpha_2"]: country["alpha_3"] for country in countries} | EXTRA
    pairs = sorted(codes.items())
    rows = "\n".join("    " + " ".join(f'"{two}": "{three}",' for two, three in pairs[i:i + 8])
                     for i in range(0, len(pairs), 8))
    args.out.write_text(HEADER.format(version=args.version, rows=rows), encoding="utf-8")
    print(f"{args.out}: {len(pairs)} countries")


if __name__ == "__main__":
    main()
