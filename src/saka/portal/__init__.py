"""The member pages: a member logged in with a browser session reads their wallets, the
compost forecast in words and their statements (HTML pages, CSV downloads).

- ``views``: the pages (``/me/``, ``/me/statement/saka/``, ``/me/statement/eur/``), the CSV
  exports (``/me/statement/saka.csv``, ``/me/statement/eur.csv``) and the landing view that
  sends each user where they belong after logging in;
- ``forecast``: the compost forecast as a sentence, with the date of the weekly run;
- ``statements``: a book's statement lines, page by page (keyset on the posting id), and the
  CSV rows of the export (cells neutralised against formula injection);
- ``urls``: those routes, for a project's ``urls.py`` (``path("", include("saka.portal.urls"))``).

An interface layer beside ``saka.api`` and ``saka.ops`` (import-linter): it may import
``saka.jobs``, the domains' selectors and statements, ``saka.audit`` and ``saka.core``; never
``saka.api`` (DRF), and it writes nothing. The lines' sentences are the books' own
(``postings_explained``): this app never words a posting itself.
"""
