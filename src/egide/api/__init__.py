"""The HTTP API (issue 12): `egide.api.app.create_app` builds it."""
