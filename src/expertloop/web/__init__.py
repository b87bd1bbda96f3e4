"""The browser front end: server-rendered pages (see views.install and docs/web.md)."""
