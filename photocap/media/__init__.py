"""Bytes to pixels: decoding photos of every format (RAW and HEIC too) upright, thumbnails, unreadable files.

decode.py opens and decodes a photo as the encoder wants it; raw.py reads camera RAW files; thumbnails.py makes
the web app's thumbnails and display copies; file_errors.py words why a file cannot be read. It imports nothing
of photocap but metadata/ (formats, dates and what the file says) and atomic.
"""

MAY_IMPORT = ("metadata", "atomic")
