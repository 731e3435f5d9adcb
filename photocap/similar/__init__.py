"""Photos that look alike: `photocap similar` (more like this) and `photocap duplicates` (copies, near copies and
bursts), over the pooled encoder features the catalog keeps for every photo.

features.py reads the kept features as unit vectors and the log of changed ones; vector_index.py is the vector
index kept as a file beside the catalog (built, kept in step, searched); neighbours.py answers "more like this";
duplicates.py finds the groups, keeper.py says which photo of a group to keep and why, moves.py moves the others
aside and puts them back. It uses numpy, never a model (no torch), reads and writes the catalog, and never
imports search/, indexing/ or the commands above it.
"""

MAY_IMPORT = ("catalog", "metadata", "atomic")
