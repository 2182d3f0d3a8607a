"""How a notification reads: one `Message` built from the alert and its why, written out as plain
text (email, files), Slack mrkdwn, or Markdown (Teams, Mattermost). Every channel says the same
thing in its own markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from alerts.why import METRIC_WORDS

Flavor = Literal["slack", "markdown"]

COLORS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4", "resolved": "#2ca02c"}


@dataclass
class Message:
    title: str
    summary: str
    severity: str
    color: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    link: str | None = None
    command: str | None = None


def _when(text: str | None) -> str:
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC") if text else ""


def _num(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def message(notification: dict[str, Any]) -> Message:
    event = notification["event"]
    alert, why = notification["alert"], notification["why"]
    brand, severity = alert["brand"], alert["severity"]
    tag = {"trigger": severity.upper(), "repeat": f"{severity.upper()}, still going on"}.get(
        event, event.upper()
    )
    if event == "resolve":
        title = f"[RESOLVED] {brand}: back to normal ({alert['rule']})"
        summary = (
            f"The alert opened {_when(alert['opened'])} is resolved. It was: {why['headline']}"
        )
    elif event == "acknowledge":
        title = f"[ACK] {brand}: acknowledged by {alert.get('acked_by') or 'someone'}"
        summary = why["headline"]
    else:
        title = f"[{tag}] {why['headline']}"
        summary = why["headline"]
    facts = [("Brand", brand), ("Rule", alert["rule"]), ("Severity", severity)]
    if why["kind"] == "spike":
        facts += [
            ("Metric", METRIC_WORDS.get(why["metric"], (why["metric"],))[0]),
            (
                "Observed / expected",
                f"{_num(why['observed'])} / {why['expected']:.2g} in "
                f"{_num(why['window_minutes'])} min"
                + (f" ({why['ratio']:.1f}x)" if why["expected"] >= 0.1 else ""),
            ),
            ("How unusual", f"score {why['score']:.1f} (p={10 ** -min(why['score'], 300):.0e})"),
        ]
        if why.get("per_week") is not None:
            facts.append(("Seen lately", f"{why['per_week']:.2f} buckets a week this unusual"))
    facts += [("Since", _when(why["since"])), ("Alert", alert["id"])]
    authors = [
        f"{a['name']}{' (influencer)' if a.get('influencer') else ''}"
        + (f", {a['followers']:,} followers" if a.get("followers") else "")
        + f": {a['mentions']} mention{'s' if a['mentions'] > 1 else ''}"
        for a in why.get("authors", [])
    ]
    terms = [f"{t['term']} ({t['mentions']})" for t in why.get("terms", [])]
    sites = [f"{s['site']} ({s['mentions']})" for s in why.get("sites", [])]
    search = why.get("search", {})
    return Message(
        title=title,
        summary=summary,
        severity=severity,
        color=COLORS["resolved" if event == "resolve" else severity],
        facts=facts,
        mentions=why.get("mentions", []) if event in ("trigger", "repeat", "test") else [],
        authors=authors,
        terms=terms,
        sites=sites,
        link=search.get("kibana"),
        command=search.get("command"),
    )


def _mention_line(m: dict[str, Any], flavor: Flavor | None) -> str:
    text = (m.get("title") or m.get("text") or "")[:160]
    if m.get("title") and m.get("text"):
        text = f"{m['title']}: {m['text']}"[:160]
    who = m.get("author") or m.get("site") or ""
    badge = " (influencer)" if m.get("influencer") else ""
    if flavor == "slack":
        return f"• <{m['url']}|{_slack_escape(text)}> ({who}{badge})"
    if flavor == "markdown":
        return f"- [{_md_escape(text)}]({m['url']}) ({who}{badge})"
    return f"- {text} ({who}{badge})\n  {m['url']}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "¦")


def _md_escape(text: str) -> str:
    return text.replace("[", "(").replace("]", ")")


def sections(msg: Message, flavor: Flavor | None) -> list[tuple[str, list[str]]]:
    """The message's parts after the facts, each a heading and its lines."""
    out = []
    if msg.mentions:
        out.append(("Top negative mentions", [_mention_line(m, flavor) for m in msg.mentions]))
    if msg.authors:
        out.append(("Authors", msg.authors))
    if msg.terms:
        out.append(("Emerging terms", [", ".join(msg.terms)]))
    if msg.sites:
        out.append(("Sites", [", ".join(msg.sites)]))
    if msg.link:
        label = {
            "slack": f"<{msg.link}|Open in Kibana>",
            "markdown": f"[Open in Kibana]({msg.link})",
        }
        out.append(("Search", [label.get(flavor or "", msg.link)]))
    elif msg.command:
        out.append(("Search", [f"`{msg.command}`" if flavor else msg.command]))
    return out


def plain(msg: Message) -> str:
    lines = [msg.summary, ""]
    width = max((len(k) for k, _ in msg.facts), default=0)
    lines += [f"{k.ljust(width)}  {v}" for k, v in msg.facts]
    for heading, items in sections(msg, None):
        lines += ["", f"{heading}:", *items]
    return "\n".join(lines) + "\n"


def markdown(msg: Message, flavor: Flavor) -> str:
    bold = "*{}*" if flavor == "slack" else "**{}**"
    lines = [bold.format(msg.title), ""]
    lines += [f"{bold.format(k)}: {v}" for k, v in msg.facts]
    for heading, items in sections(msg, flavor):
        lines += ["", bold.format(heading), *items]
    return "\n".join(lines)
