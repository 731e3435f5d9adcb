"""photocap: caption and index personal photo libraries; find photos by describing them.

The rooms, top to bottom; each imports only from rooms below it (each package's MAY_IMPORT, held by
tests/test_layering.py):
    cli.py                         the click commands, thin
    web/                           `photocap serve`
    indexing/                      the indexing job (scan, caption, write; built-in and Ray engines)
    export.py show.py status.py edits.py   the commands' own work, over the rooms below
    search/                        the Whoosh index and its queries
    catalog/                       the SQLite catalog, the source of truth
    model/                         the captioner and tagger
    media/                         bytes to pixels
    metadata/                      what files say about themselves
    config.py lock.py atomic.py    settings, the writer's lock, atomic writes: import nothing of photocap
"""
