"""The indexing job: find what changed in the folders, caption and tag it, write the catalog and the search index.

scan.py finds new, changed, moved and vanished photos; pipeline.py runs one `index`; worker.py decodes and
captions batches in a pool of processes; result_writer.py writes each batch, alone; watch.py follows file
events; ray_engine.py and ray_tasks.py run the same job on a Ray cluster. It uses every room below it; the
commands (cli), the web app and the top-level command modules (export, show, status, edits) never reach it
except through cli.
"""

MAY_IMPORT = ("similar", "search", "catalog", "model", "media", "metadata", "config", "lock", "atomic", "wording")
