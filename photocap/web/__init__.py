"""`photocap serve`: a local web app over the same catalog, search index, edits and exports as the CLI.

app.py builds the ASGI app; guard.py keeps it safe (Host, token, same-origin, CSRF, read-only); results.py runs
searches as the pages show them, library.py reads and edits photos, downloads.py makes exports; files.py
serves photos and thumbnails by catalog id; pages.py and api.py are the routes, alike.py those of "More like this"
and Duplicates, review.py those of the unsure captions to review; rendering.py draws a page; server.py runs it under
uvicorn.

It reads and edits through the same rooms as the commands, never indexes (no indexing/) and never imports cli.
"""

MAY_IMPORT = ("edits", "export", "show", "status", "similar", "search", "catalog", "model", "media", "metadata",
              "config", "lock", "atomic")
