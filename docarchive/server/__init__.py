"""``docarchive serve``: the HTTP API (``/api/v1``) over one archive, run by uvicorn.

:func:`docarchive.server.app.create_app` makes the ASGI application (FastAPI); this
package's ``__init__`` imports nothing heavy, so the settings can name ``[server]``
without the server extra installed.
"""
