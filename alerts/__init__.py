"""Bad-buzz alerts: the alerts stage counts enriched mentions into per-brand time buckets, runs the
rules' detectors on them, opens and resolves alerts, and sends each notification with its why.

- counting and judging: `buckets` (the counts), `detectors` (how unusual a bucket is), `terms`
  (emerging words), `rules` (which series each rule watches), `incidents` (when unusual buckets
  become an alert, and when it ends), `backtest` (the same rules replayed on a series);
- the stage: `engine` (evaluates the rules and records alerts), `stage` (the sink stage and the
  worker's loop), `db` (the state file), `history` (alerts and the outbox), `delivery` (sending
  the outbox, with retries);
- what an alert says: `why` (gathers it), `notification` (the typed `Notification` and its JSON
  form), `render` (the message every channel writes in its markup), `phrases` (English and
  French), `channels/` (one module per channel);
- `settings`: rules, channels, delivery and the Kibana link.
"""
