"""The SQLite catalog, the source of truth: photos, captions, tags, features, what files say, the edit history.

store.py is the `Catalog` class (opening, migrating, the photos' queries); schema.py the tables; rows.py the
row shapes; tags.py, metadata.py and edits.py the queries of their own tables. The catalog stores tags as words
and never runs a model: of model/ it reads only the tag words and thresholds (tag_vocabulary), and it never
imports search/, indexing/ or torch.
"""

MAY_IMPORT = ("metadata", "model.tag_vocabulary", "atomic")
