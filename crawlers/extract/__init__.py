"""What a page says, read without Scrapy: articles and their comments, forum threads and listings.

The spiders and ``veille extract`` call the same functions, so what an analyst checks on one page
is what the crawler will collect. Everything here is forgiving: a missing field is ``None``, a
broken page gives what can be read from it, never an exception.
"""
