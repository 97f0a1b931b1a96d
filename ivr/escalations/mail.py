"""Email through an SMTP server (``SMTP_*`` settings), for staff notifications.

One connection per message: notifications are rare, and a fresh connection
cannot be left half-way through an earlier conversation.  Port 465 means
implicit TLS; otherwise STARTTLS when ``SMTP_STARTTLS`` is on (the default).
Every socket operation has a timeout, so a dead server fails the job instead of
hanging the worker.

Errors are sorted for the caller (``MailError``): a refusal with a 5xx code is
permanent; a 4xx code or a server we could not reach is worth retrying; a
connection lost after the message was handed over leaves the outcome unknown.
Addresses and bodies are never logged.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from ivr.config import Settings
from ivr.exceptions import MailError

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0
IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    user: str
    password: str
    sender: str
    starttls: bool
    timeout: float = TIMEOUT_SECONDS


def mail_config(settings: Settings) -> MailConfig | None:
    """The SMTP settings, or None when no SMTP_HOST is set (email notifications are off)."""
    if not settings.smtp_host:
        return None
    return MailConfig(settings.smtp_host, settings.smtp_port, settings.smtp_user, settings.smtp_password,
                      settings.smtp_from, settings.smtp_starttls)


def build_message(config: MailConfig, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    """A plain-text message; a fixed Message-ID lets mail systems drop a duplicate."""
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def send_mail(config: MailConfig, to: str, subject: str, body: str, message_id: str) -> str:
    """Send one message; returns its Message-ID.  Raises MailError."""
    msg = build_message(config, to, subject, body, message_id)
    handed_over = False
    try:
        if config.port == IMPLICIT_TLS_PORT:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with smtp:
            if config.starttls and config.port != IMPLICIT_TLS_PORT:
                smtp.starttls(context=ssl.create_default_context())
            if config.user:
                smtp.login(config.user, config.password)
            handed_over = True  # from here on the server may have queued it
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise MailError(f"recipient refused ({', '.join(map(str, codes))})",
                        permanent=all(c >= 500 for c in codes)) from None
    except smtplib.SMTPResponseException as exc:
        # MAIL FROM / DATA refused with a code: the server said no, so it did not take the message.
        raise MailError(f"smtp {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
    except smtplib.SMTPServerDisconnected:
        raise MailError("smtp server disconnected", unknown=handed_over) from None
    except (smtplib.SMTPException, OSError) as exc:
        # Could not connect, TLS or login failed: nothing was sent.  Lost during the hand-over: unknown.
        raise MailError(f"smtp {type(exc).__name__}", unknown=handed_over) from None
    log.info("email %s sent", message_id)
    return message_id
