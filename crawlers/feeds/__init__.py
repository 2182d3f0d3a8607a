"""Feeds polled for their new entries: `poller` fetches each feed when it is due and publishes
what it had not seen, `parse` reads RSS, Atom and JSON Feed into typed entries, `state` remembers
each feed between polls, and `google` builds Google News and Google Alerts feeds from a brand's
query."""
