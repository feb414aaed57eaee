"""Sending an interviewer their personal link by email, when the server has SMTP settings.

The settings come from the environment (``RUBRICS_SMTP_*``, read once when the
application is made); without ``RUBRICS_SMTP_HOST`` nothing is ever sent and the pages
offer no sending. A message names the candidate (their id when the pack is anonymous),
the stage, the link and when it expires: nothing of any other interviewer. A failure to
send leaves the link made: the recruiter is told, and copies it instead.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING

from rubrics.errors import InvalidInput, Problem, problem, shorten

if TYPE_CHECKING:
    from rubrics.server.links import LinkInfo
    from rubrics.server.service import Team

DEFAULT_PORT = 587
PLAIN_PORTS = (25, 1025)
"""Ports where STARTTLS is off unless asked for: a local relay, a developer's catcher."""
TLS_PORT = 465
"""The port of SMTP over TLS from the first byte (no STARTTLS)."""
TIMEOUT = 20.0
YES, NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how the server sends mail."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """The settings ``RUBRICS_SMTP_*`` give, None without ``RUBRICS_SMTP_HOST``;
        InvalidInput naming each variable that is wrong."""
        env = os.environ if env is None else env
        host = env.get("RUBRICS_SMTP_HOST", "").strip()
        if not host:
            return None
        wrong: list[Problem] = []
        raw_port = env.get("RUBRICS_SMTP_PORT", "").strip()
        port = DEFAULT_PORT
        if raw_port:
            port = int(raw_port) if raw_port.isdigit() else 0
            if not 1 <= port <= 65535:
                wrong.append(problem("RUBRICS_SMTP_PORT", f"'{shorten(raw_port)}' is not a "
                                     "port (1 to 65535)"))
        sender = env.get("RUBRICS_SMTP_FROM", "").strip()
        if not sender:
            wrong.append(problem("RUBRICS_SMTP_FROM", "required with RUBRICS_SMTP_HOST: the "
                                 "address messages are sent from"))
        raw_tls = env.get("RUBRICS_SMTP_STARTTLS", "").strip().lower()
        starttls = port not in PLAIN_PORTS
        if raw_tls in YES or raw_tls in NO:
            starttls = raw_tls in YES
        elif raw_tls:
            wrong.append(problem("RUBRICS_SMTP_STARTTLS", f"'{shorten(raw_tls)}' is not on "
                                 "or off"))
        user = env.get("RUBRICS_SMTP_USER", "").strip() or None
        password = env.get("RUBRICS_SMTP_PASSWORD") or None
        if (user is None) != (password is None):
            wrong.append(problem("RUBRICS_SMTP_USER" if user is None else "RUBRICS_SMTP_PASSWORD",
                                 "RUBRICS_SMTP_USER and RUBRICS_SMTP_PASSWORD go together"))
        if wrong:
            raise InvalidInput(wrong)
        return cls(host, port, sender, user, password, starttls)


class NotSent(Exception):
    """The message could not be sent (the reason, as the recruiter is told it)."""


def link_message(settings: SmtpSettings, link: LinkInfo, url: str, candidate: str,
                 stage_title: str, role_title: str) -> EmailMessage:
    """The message that gives an interviewer their link."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = Address(display_name=link.name, addr_spec=link.email)
    message["Subject"] = f"Your scorecard link: {candidate}, {stage_title}"
    expires = link.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    message.set_content(
        f"Hello {link.name},\n\n"
        f"You are interviewing {candidate} ({role_title}) for the stage: {stage_title}.\n\n"
        f"Your personal link to the interview kit and your scorecard:\n{url}\n\n"
        f"It works until {expires}. It is yours alone: please do not forward it.\n")
    return message


def send(settings: SmtpSettings, message: EmailMessage, timeout: float = TIMEOUT) -> None:
    """Hand ``message`` to the SMTP server; NotSent with the reason if that fails."""
    try:
        if settings.port == TLS_PORT:
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                                    timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            if settings.starttls and settings.port != TLS_PORT:
                client.starttls(context=ssl.create_default_context())
            if settings.user is not None and settings.password is not None:
                client.login(settings.user, settings.password)
            client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        said = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        raise NotSent(f"the mail server answered {exc.smtp_code} {shorten(said)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        answers = [f"{code} {text.decode('utf-8', 'replace')}"
                   for code, text in exc.recipients.values()]
        raise NotSent(f"the mail server refused the address ({shorten('; '.join(answers))})"
                      ) from None
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        raise NotSent(f"the mail server at {settings.host}:{settings.port} could not be "
                      f"reached or used ({shorten(exc) or type(exc).__name__})") from None


def send_link(team: Team, settings: SmtpSettings, link: LinkInfo, url: str, by: str
              ) -> str | None:
    """Send ``link`` to its interviewer; None once sent, else why not. Either way an
    audit event (``link.send`` / ``link.send.failed``); the link stays made."""
    from rubrics.server.links import record_event
    from rubrics.server.service import interviewer_label

    with team.store.reading(link.pack_id) as pack:
        candidate = interviewer_label(pack.candidate)
        stage_title = next(s.title for s in pack.loop.role.stages if s.id == link.stage)
        role_title = pack.loop.role.title
    detail = {"link": link.id, "stage": link.stage, "email": link.email}
    try:
        try:
            message = link_message(settings, link, url, candidate, stage_title, role_title)
        except (ValueError, MessageError) as exc:
            raise NotSent(f"the message could not be written ({shorten(exc)})") from None
        send(settings, message)
    except NotSent as exc:
        record_event(team, by, "link.send.failed", link.pack_id, {**detail, "reason": str(exc)})
        return str(exc)
    record_event(team, by, "link.send", link.pack_id, detail)
    return None


def not_configured() -> InvalidInput:
    return InvalidInput([problem("send", "the server has no SMTP settings "
                                 "(RUBRICS_SMTP_HOST): copy the link and send it yourself")])
