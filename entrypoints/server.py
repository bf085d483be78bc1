"""``ledger serve``: the GraphQL server over the bootstrapped ledger."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from entrypoints.bootstrap import bootstrap
from ledger.settings import Settings
from projections.tree import pinned_verifier


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from api.app import create_app
    from api.observability import log_json_lines
    from api.serving import serve
    from entrypoints.demo import print_access
    from entrypoints.expiry import start_daily

    log_json_lines()
    public_url = settings.public_url or f"http://{args.host}:{args.port}"
    with bootstrap(settings) as services:
        if args.demo:
            print_access(services, public_url)
            print('在 GraphiQL 的 Headers 中填入 {"Authorization": "Bearer <令牌>"}')
        print(f"GraphiQL: http://{args.host}:{args.port}/graphql", flush=True)
        # uvicorn shuts down cleanly on SIGTERM/SIGINT, then raises the signal again
        # under the handlers it found: with these, the process then exits 0.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: None)
        app = create_app(
            services.url,
            services.ledger,
            services.read_side,
            pinned_verifier(settings),
            checkpoint_log=settings.checkpoint_log,
            production=args.production,
            follow=not args.no_follow,
            read_replicas=settings.read_replicas,
            replica_max_lag=settings.replica_max_lag,
            public_url=public_url,
        )
        expiring, stop_expiring = start_daily(services.ledger, services.url)
        try:
            serve(app, args.host, args.port, settings.connections)
        finally:
            stop_expiring.set()
            expiring.join()
    return 0


def add(commands: Any) -> None:
    serve = commands.add_parser("serve", help="启动 GraphQL 服务(含读模型更新)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--production", action="store_true", help="关闭内省和 GraphiQL")
    serve.add_argument(
        "--demo", action="store_true", help="数据库为空时生成一个街道最近十二个月的演示数据"
    )
    serve.add_argument(
        "--no-follow", action="store_true", help="读模型由独立的 ledger project 进程更新"
    )
    serve.set_defaults(run=_serve)
