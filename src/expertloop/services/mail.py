"""Outgoing mail (invitations, password resets) over SMTP with the standard library.

``EXPERTLOOP_SMTP_URL`` configures it, e.g. ``smtp://user:password@mail.example.com:587?from=noreply@example.com``
(STARTTLS when the server offers it), ``smtps://…:465`` (TLS from the start), or
``smtp://127.0.0.1:1025`` (a local relay, no login). Without it nothing is sent and the console
shows the link to the staff member who made it. The password in the URL comes from the
environment and is never stored or shown.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from ..domain.errors import ValidationFailed

DEFAULT_FROM = "expertloop@localhost"


def parse_smtp_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValidationFailed("must look like smtp://user:password@host:587?from=address (or smtps://)",
                               loc="EXPERTLOOP_SMTP_URL")
    query = parse_qs(parts.query)
    return {"tls": parts.scheme == "smtps", "host": parts.hostname,
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "sender": (query.get("from") or [DEFAULT_FROM])[0]}


def send_mail(url: str, to: str, subject: str, body: str, *, timeout: float = 20.0) -> None:
    """Send one plain-text message; raises OSError / smtplib.SMTPException when it cannot."""
    cfg = parse_smtp_url(url)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg["sender"], to, subject
    msg.set_content(body)
    context = ssl.create_default_context()
    if cfg["tls"]:
        client: smtplib.SMTP = smtplib.SMTP_SSL(cfg["host"], cfg["port"], timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(cfg["host"], cfg["port"], timeout=timeout)
    with client:
        client.ehlo()
        if not cfg["tls"] and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if cfg["user"]:
            if not cfg["tls"] and not client.has_extn("starttls"):
                # Never send the password in clear: a server (or someone between) that offers no
                # STARTTLS gets no login.
                raise smtplib.SMTPException("the mail server offers no STARTTLS; refusing to send the password "
                                            "in clear (use smtps:// or a server with STARTTLS)")
            client.login(cfg["user"], cfg["password"] or "")
        client.send_message(msg)
