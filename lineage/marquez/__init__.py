"""The Marquez read API over the portal's lineage, mounted at ``/marquez/api/v1/``.

Paths, parameters and JSON shapes follow Marquez's own OpenAPI description
(``openapi.yml`` of MarquezProject/marquez), so ``marquez-python`` and the Marquez
web UI read the portal as they read Marquez. Every answer is role-filtered like the
rest of the portal (``visibility``); writes other than the OpenLineage intake answer 405.

Modules: ``visibility`` (what a role may see), ``shapes`` (Marquez JSON objects),
``queries`` (namespaces, datasets, jobs, runs, events, search, tags), ``graphs``
(lineage and column lineage by nodeId), ``views`` and ``urls``.
"""
