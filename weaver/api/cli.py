"""``weaver serve``: run the API server on uvicorn, on 127.0.0.1 unless told otherwise.

It prints its address with the token in the fragment (``#token=…``), which no server log
sees, as Jupyter prints its link. A non-loopback ``--host`` needs ``--allow-remote`` and
draws a warning: the token is then all that stands between the network and your runs.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from typing import Any

__all__ = ["SecretFilter", "add_parser", "cmd_serve"]


class SecretFilter(logging.Filter):
    """Replace every secret value (the token, Alpaca keys) by ``***`` in log records."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


def add_parser(sub: Any) -> None:
    """Add the ``serve`` command to the ``weaver`` command."""
    serve = sub.add_parser("serve", help="run the API server (runs, orders, candles, strategies, events)",
                           description="Run Weaver's API server on uvicorn, with the store and catalog the "
                                       "settings name (WEAVER_HOME, WEAVER_DATABASE_URL, WEAVER_CATALOG).")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000; 0 picks a free one)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a non-loopback --host: the server is then reachable from the network")
    serve.set_defaults(func=cmd_serve)


def is_loopback(host: str) -> bool:
    """Return whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the server until interrupted."""
    import uvicorn

    from weaver.api.app import create_app
    from weaver.api.security import ensure_token
    from weaver.core.errors import ParameterError
    from weaver.settings import load_settings

    if not is_loopback(args.host):
        if not args.allow_remote:
            raise ParameterError(f"--host {args.host} is reachable from the network: add --allow-remote if you "
                                 "mean it (and set WEAVER_ALLOWED_HOSTS to the names clients use)")
        print(f"warning: serving on {args.host}, reachable from the network; anyone with the token can run "
              "strategies and see your runs", file=sys.stderr, flush=True)
    settings = load_settings()
    token = ensure_token(settings)
    _configure_logging([token, *settings.secrets()])
    app = create_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                port = self.servers[0].sockets[0].getsockname()[1] if self.servers else args.port
                host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
                host = f"[{host}]" if ":" in host else host
                print(f"Weaver is serving at http://{host}:{port}/#token={token}\n"
                      f"  API docs: http://{host}:{port}/docs  (the token: WEAVER_HOME/token or WEAVER_TOKEN)",
                      flush=True)

    config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None, access_log=False,
                            server_header=False, timeout_graceful_shutdown=5)
    Server(config).run()
    return 0


def _configure_logging(secrets: list[str]) -> None:
    """Log to stderr, each line with its logger's name; secrets are masked in every record."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin chatter at every start
