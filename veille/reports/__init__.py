"""The agency's reports: the weekly report's assembly (`weekly`), its words in French and English
(`words`), its charts (`charts`), its formats (`render`: Markdown, HTML, PDF; `workbook`: XLSX),
and its schedules and delivery.

The figures come from `index.report`, the code behind ``veille report``; this package only adds
what the composition root alone can see (the alert history, the brands' competitors, the
agency's name and colours) and writes them out.
"""
