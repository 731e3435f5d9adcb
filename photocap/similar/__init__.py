"""Photos that look alike: `photocap similar` (more like this) and `photocap duplicates` (copies, near copies and
bursts), over the pooled encoder features the catalog keeps for every photo and a perceptual hash of each picture.

features.py reads the kept features as unit vectors and the log of changed ones; vector_index.py is the vector
index kept as a file beside the catalog (built, kept in step, searched); neighbours.py answers "more like this";
phash.py is the perceptual hash that catches resized and re-encoded copies; pairs.py finds close pairs without
comparing all pairs; duplicates.py finds the groups, keeper.py says which photo of a group to keep and why,
moves.py moves the others aside and puts them back. It uses numpy and decodes photos through media/, never runs
a model (no torch), reads and writes the catalog, and never imports search/, indexing/ or the commands above it.
"""

MAY_IMPORT = ("catalog", "media", "metadata", "atomic", "wording")
