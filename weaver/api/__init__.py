"""The API server: ``create_app(settings)`` and ``weaver serve`` (DESIGN §6, roadmap §9)."""

from weaver.api.app import create_app

__all__ = ["create_app"]
