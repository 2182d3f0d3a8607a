"""The email channel: SMTP with STARTTLS (or implicit TLS) and authentication.

The message has a plain-text part and an HTML part (the same content, with links). The server's
certificate is verified (against ``ca_file`` when given), so a password never leaves the machine
in clear or for an impostor. Connection problems, timeouts and 4xx replies are retryable; a
refused login or recipient is not. A timeout or a lost connection once the message is being sent
leaves its outcome unknown (``maybe_delivered``): SMTP cannot deduplicate, so it is re-sent only
as often as ``resend_unknown`` says.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate
from html import escape

from alerts.channels.base import DeliveryError, Notifier
from alerts.notification import Notification
from alerts.render import Message, byline, message, plain, sections
from alerts.settings import EmailChannel


def html(msg: Message) -> str:
    rows = "".join(
        f"<tr><th align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in msg.facts
    )
    parts = [
        f"<h2 style='color:{msg.color}'>{escape(msg.title)}</h2>",
        f"<p>{escape(msg.summary)}</p><table>{rows}</table>",
    ]
    for key, heading, items in sections(msg, None):
        if key == "mentions":
            listed = "".join(
                f"<li><a href='{escape(m.url)}'>{escape((m.title or m.text or '')[:160])}</a>"
                f" ({escape(byline(m, msg.lang))})</li>"
                for m in msg.mentions
            )
            parts.append(f"<h3>{escape(heading)}</h3><ul>{listed}</ul>")
            continue
        body = "<br>".join(escape(i) for i in items)
        if key == "search" and msg.link:
            body = f"<a href='{escape(msg.link)}'>{escape(msg.say('open_kibana'))}</a>"
        parts.append(f"<h3>{escape(heading)}</h3><p>{body}</p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


class EmailNotifier(Notifier):
    def __init__(self, name: str, settings: EmailChannel, secrets: Iterable[str] = ()) -> None:
        super().__init__(name, settings, secrets)
        self.settings = settings
        self.password = settings.password.get_secret_value() if settings.password else None

    def _context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.settings.ca_file)
        except OSError as exc:
            raise DeliveryError(
                f"cannot read ca_file {self.settings.ca_file}: {exc.strerror}", retryable=False
            ) from None

    def envelope(self, subject: str, key: str) -> EmailMessage:
        """A message to this channel's recipients, its Message-ID made from ``key``: a copy sent
        again after a timeout has the same one, and mail systems that drop duplicate Message-IDs
        show it once."""
        mail = EmailMessage()
        mail["Subject"] = subject
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(self.settings.to)
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = f"<{key}@veille.local>"
        return mail

    def compose(self, notification: Notification) -> EmailMessage:
        msg = message(notification)
        mail = self.envelope(msg.title, notification.key)
        mail["X-Veille-Alert"] = notification.alert.id
        mail.set_content(plain(msg))
        mail.add_alternative(html(msg), subtype="html")
        return mail

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        timeout = s.timeout.total_seconds()
        try:
            if s.tls == "ssl":
                return smtplib.SMTP_SSL(s.host, s.port, timeout=timeout, context=self._context())
            return smtplib.SMTP(s.host, s.port, timeout=timeout)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code < 500
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None

    def deliver(self, notification: Notification) -> None:
        self.send_message(self.compose(notification))

    def send_message(self, mail: EmailMessage) -> None:
        """Send ``mail`` as it is (an alert's, or a report with its attachments), or raise
        `DeliveryError`; secrets are not yet masked in it (`Notifier.scrub`)."""
        s = self.settings
        client = self._connect()
        sending = False  # once the message is on its way, a lost answer leaves it unknown
        try:
            client.ehlo()
            if s.tls == "starttls":
                client.starttls(context=self._context())
                client.ehlo()
            if s.username and self.password:
                client.login(s.username, self.password)
            sending = True
            client.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {exc.smtp_code}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                f"SMTP refused the recipients: {', '.join(exc.recipients)}", retryable=False
            ) from None
        except smtplib.SMTPResponseException as exc:  # the server answered: it did not take it
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code < 500
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            lost = "; it may have arrived" if sending else ""
            raise DeliveryError(
                f"{type(exc).__name__}: {exc}{lost}", maybe_delivered=sending
            ) from None
        finally:
            _close(client)


def _close(client: smtplib.SMTP) -> None:
    """Say goodbye; a server that hangs up first has the message already, or never will."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
