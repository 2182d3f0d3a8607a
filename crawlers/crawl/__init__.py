"""The Scrapy machinery: blogs and forums crawled by spiders, politely and incrementally.

`runner` runs one Scrapy crawler per site in `reactor`'s thread, with the settings
`scrapy_settings` builds from Veille's; the spiders (`spiders`) yield what pages show, the
middlewares (`middlewares`) keep the crawl polite and bounded, the pipelines (`pipelines`) turn
what was found into mentions on the bus, and `progress` remembers how far each site was read.

Importing this package imports nothing: Scrapy and Twisted load with the modules that need them.
"""
