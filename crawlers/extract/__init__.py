"""What a page says, read without Scrapy: articles and their comments, forum threads and listings.

The spiders and ``veille extract`` call the same functions, so what an analyst checks on one page
is what the crawler will collect. Everything here is forgiving: a missing field is ``None``, a
broken page gives what can be read from it, never an exception.

- `page`: what any page needs first: its text decoded right, its base URL, canonical link,
  language and ``<meta>`` values;
- `text`: HTML to readable text, a fragment or one element without quotes and signatures;
- `select`: selectors as the settings write them (CSS or XPath, lists of preferences);
- `dates`: dates as pages print them, in French and English;
- `article`: blog and news pages, their comments, and the links of listing pages;
- `forum_html`: forum pages rendered as HTML (phpBB, vBulletin, XenForo, generic);
- `posts`: the posts of any thread page, found by their structure (no selectors), and whether a
  page is a thread or an article; `jsonapi`: posts a page embeds as a JSON:API document;
- `discourse_json`: Discourse forums, through their JSON API;
- `found`: one page to the `crawlers.items.Found` items the spiders yield.
"""
