"""How a notification reads: one `Message` built from the alert and its why, written out as plain
text (email, files), Slack mrkdwn, or Markdown (Teams, Mattermost). Every channel says the same
thing in its own markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from alerts.notification import AuthorRow, MentionRow, Notification
from alerts.phrases import colon, number, say, significant, written
from alerts.why import when

Flavor = Literal["slack", "markdown"]

COLORS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4", "resolved": "#2ca02c"}


@dataclass
class Message:
    title: str
    summary: str
    severity: str
    color: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    mentions: list[MentionRow] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    link: str | None = None
    command: str | None = None
    lang: str = "en"

    def say(self, key: str, **values: Any) -> str:
        return say(self.lang, key, **values)


def message(notification: Notification) -> Message:
    event, alert, why = notification.event, notification.alert, notification.why
    lang = why.lang
    brand, severity = alert.brand, alert.severity
    severity_words = say(lang, f"severity.{severity}")
    if event == "resolve":
        title = say(lang, "resolved.title", brand=brand, rule=alert.rule)
        summary = say(lang, "resolved.summary", opened=when(alert.opened), headline=why.headline)
    elif event == "acknowledge":
        who = alert.acked_by or say(lang, "ack.someone")
        title = say(lang, "ack.title", brand=brand, who=who)
        summary = why.headline
    else:
        tag = say(lang, f"tag.{event}", severity=severity_words.upper())
        title = f"[{tag}] {why.headline}"
        summary = why.headline
    facts = [
        (say(lang, "fact.brand"), brand),
        (say(lang, "fact.rule"), alert.rule),
        (say(lang, "fact.severity"), severity_words),
    ]
    if why.kind == "spike":
        observed = say(
            lang,
            "fact.observed.value",
            observed=number(why.observed, lang),
            expected=significant(why.expected, lang),
            window=number(why.window_minutes, lang),
        )
        if why.expected >= 0.1:
            observed += f" ({number(why.ratio, lang)}x)"
        facts += [
            (say(lang, "fact.metric"), say(lang, f"metric.{why.metric}")),
            (say(lang, "fact.observed"), observed),
            (
                say(lang, "fact.unusual"),
                f"score {number(why.score, lang)} (p={10 ** -min(why.score, 300):.0e})",
            ),
        ]
        if why.per_week is not None:
            per_week = written(why.per_week, ".2f", lang)
            facts.append((say(lang, "fact.seen"), say(lang, "fact.seen.value", per_week=per_week)))
    facts += [(say(lang, "fact.since"), when(why.since)), (say(lang, "fact.alert"), alert.id)]
    return Message(
        title=title,
        summary=summary,
        severity=severity,
        color=COLORS["resolved" if event == "resolve" else severity],
        facts=facts,
        mentions=why.mentions if event in ("trigger", "repeat", "test") else [],
        authors=[_author_line(a, lang) for a in why.authors],
        terms=[f"{t.term} ({t.mentions})" for t in why.terms],
        sites=[f"{s.site} ({s.mentions})" for s in why.sites],
        link=why.search.get("kibana"),
        command=why.search.get("command"),
        lang=lang,
    )


def _author_line(a: AuthorRow, lang: str) -> str:
    line = a.name
    if a.influencer:
        line += f" ({say(lang, 'influencer.badge')})"
    if a.followers:
        line += ", " + say(lang, "followers", n=number(a.followers, lang))
    count = "mentions.one" if a.mentions == 1 else "mentions.many"
    return say(lang, "author", line=line, count=say(lang, count, n=a.mentions))


def byline(m: MentionRow, lang: str) -> str:
    """Who a mention is by (its author, else its site), and whether they are an influencer."""
    badge = f", {say(lang, 'influencer.badge')}" if m.influencer else ""
    return f"{m.author or m.site or ''}{badge}"


def _mention_line(m: MentionRow, flavor: Flavor | None, lang: str) -> str:
    text = (m.title or m.text or "")[:160]
    if m.title and m.text:
        text = f"{m.title}{colon(lang)} {m.text}"[:160]
    if flavor == "slack":
        return f"• <{m.url}|{_slack_escape(text)}> ({byline(m, lang)})"
    if flavor == "markdown":
        return f"- [{_md_escape(text)}]({m.url}) ({byline(m, lang)})"
    return f"- {text} ({byline(m, lang)})\n  {m.url}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "¦")


def _md_escape(text: str) -> str:
    return text.replace("[", "(").replace("]", ")")


Section = tuple[str, str, list[str]]
"""What a section is (``mentions``, ``authors``, ``terms``, ``sites``, ``search``), its heading in
the message's language, and its lines."""


def sections(msg: Message, flavor: Flavor | None) -> list[Section]:
    """The message's parts after the facts."""
    out: list[tuple[str, list[str]]] = []
    if msg.mentions:
        out.append(("mentions", [_mention_line(m, flavor, msg.lang) for m in msg.mentions]))
    if msg.authors:
        out.append(("authors", msg.authors))
    if msg.terms:
        out.append(("terms", [", ".join(msg.terms)]))
    if msg.sites:
        out.append(("sites", [", ".join(msg.sites)]))
    if msg.link:
        label = {
            "slack": f"<{msg.link}|{msg.say('open_kibana')}>",
            "markdown": f"[{msg.say('open_kibana')}]({msg.link})",
        }
        out.append(("search", [label.get(flavor or "", msg.link)]))
    elif msg.command:
        out.append(("search", [f"`{msg.command}`" if flavor else msg.command]))
    return [(key, msg.say(f"section.{key}"), lines) for key, lines in out]


def plain(msg: Message) -> str:
    lines = [msg.summary, ""]
    width = max((len(k) for k, _ in msg.facts), default=0)
    lines += [f"{k.ljust(width)}  {v}" for k, v in msg.facts]
    for _, heading, items in sections(msg, None):
        lines += ["", f"{heading}{colon(msg.lang)}", *items]
    return "\n".join(lines) + "\n"


def markdown(msg: Message, flavor: Flavor) -> str:
    bold = "*{}*" if flavor == "slack" else "**{}**"
    lines = [bold.format(msg.title), ""]
    lines += [f"{bold.format(k)}{colon(msg.lang)} {v}" for k, v in msg.facts]
    for _, heading, items in sections(msg, flavor):
        lines += ["", bold.format(heading), *items]
    return "\n".join(lines)
