"""The Whoosh full-text index, derived from the catalog and rebuildable from it, and the queries over it.

index.py is `SearchIndex` (open, write, search, rebuild); schema.py its fields and documents; query.py reads
what people type; scoring.py ranks plain words with numpy; sync.py brings the index in step with the catalog;
library.py is a search as the commands and the web app run it. It reads the catalog and the tag words, never a
model (no torch), and never imports indexing/ or the commands above it.
"""

from photocap.search import lean_whoosh

MAY_IMPORT = ("catalog", "metadata", "model.tag_vocabulary", "atomic")

lean_whoosh.install()  # before any module here imports Whoosh
