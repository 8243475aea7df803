"""What the JSON answers contain, for the OpenAPI document: the routes build their bodies in SQL and orjson, not
through these models; the models describe them, so that a client generator or a fuzzer (the suite runs
schemathesis against them) knows the shape. ``base`` holds the root model and the ``responses`` helper,
``research`` the `/stats/*` and `/places/…` answers, ``catalog`` sources, series, cases, reported figures, the
audit log and citations, ``ogc`` the collections and tilesets.
"""
