"""Import and export the practice's clients, appointments and clinicians as CSV files.

An EHR's export goes in as it is: common header spellings map to our columns
(``HEADER_ALIASES``), columns we do not know are ignored.  Parsing is pure (text in,
rows and problems out); ``import_practice`` then checks the files against each
other and the database and writes everything in one transaction, or nothing:
one bad row anywhere rejects the whole import with every problem listed.

Problems quote the offending cell so the person importing can find it; they
are for that person's screen, never for logs.  The columns and formats are
documented in docs/import.md.

Modules: ``columns`` (our columns and the EHR headers that mean them), ``cells`` (one cell → a value),
``parsing`` (whole files → rows and problems), ``importer`` and ``export``, ``safe`` (formula-proof cells).
"""
