"""The run ledger: a row per run of the update and one per file it handled (``models``), what ``runs``,
``runs show`` and ``rejected`` print (``view``), and its admin pages (``admin``).

Every import points down: ``update`` writes the ledger and imports this app; this app imports
``catalog`` (a file's store) and never ``update``; ``catalog`` imports neither
(tests/test_index_app_boundary.py). The store page's "files received" and the front page's runs,
rejected files and silent stores are this app's admin, added to the catalog's pages (``admin``).
"""
