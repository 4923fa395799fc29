"""`python -m portal`: serve the portal (uvicorn, one process; sessions live in the cookie)."""

from __future__ import annotations

from servicekit.app import serve
from servicekit.logging import configure_logging

from portal.app import create_app
from portal.settings import PortalSettings


def main() -> None:
    settings = PortalSettings()
    configure_logging(settings.service_name, settings.log_level)
    serve(create_app(settings), settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
