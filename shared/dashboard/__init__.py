"""The dashboard: a page the app serves at ``GET /dashboard`` (see :mod:`shared.dashboard.page`)."""
