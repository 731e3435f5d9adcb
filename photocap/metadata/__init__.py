"""What files say about themselves, read and written: their format, dates, captions and keywords (XMP, IPTC, EXIF).

formats.py tells what a file is from its name and first bytes; read.py reads what a photo's files carry;
xmp_read.py, xmp_write.py and iptc.py are the formats; embed.py writes metadata into copies; dates.py finds when a
photo was taken. The lowest room: it imports nothing of photocap but itself and atomic.
"""

MAY_IMPORT = ("atomic",)
