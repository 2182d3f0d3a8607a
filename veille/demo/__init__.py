"""``veille demo``: a sample web served on localhost (news sites, blogs, a phpBB forum, feeds and a
Google Alerts feed, with a bad-buzz scenario), a webhook receiver, and the script that runs the
whole pipeline on them (`veille.demo.scenario`). The tests reuse its sites, the sample forums of
every engine (`veille.demo.forums`) and its loopback servers.
"""
