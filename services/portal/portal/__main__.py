"""`python -m portal`: serve the portal (uvicorn, one process; sessions live in the cookie)."""

from __future__ import annotations

import uvicorn
from servicekit.logging import configure_logging

from portal.app import create_app
from portal.settings import PortalSettings


def main() -> None:
    settings = PortalSettings()
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None,
                access_log=False, proxy_headers=False, timeout_graceful_shutdown=10, loop="asyncio")


if __name__ == "__main__":
    main()
