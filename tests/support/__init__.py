"""What the tests share besides fixtures (those stay in ``tests/conftest.py``): mentions on a fixed
clock, the backends the contract suites run against, crawl and alert harnesses, local stand-ins
for outside services and faults on demand. Local HTTP servers are built on
`veille.demo.loopback.LoopbackServer`, which the demo uses too."""
