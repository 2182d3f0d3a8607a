"""How long the review reader takes on a large page: ``python -m bench.reviews [--reviews N]``.

Workload: one product page whose JSON-LD holds N reviews (default 10,000, each with an author,
an ISO date, a 200-character text and a rating), as a shop that prints its every review would.
It prints the page's size, then for a few ``max_reviews`` limits the reviews read, the time
`crawlers.extract.reviews.extract_reviews` took (the best of three) and the peak memory of the
call (tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

from crawlers.extract.page import html_response
from crawlers.extract.reviews import extract_reviews


def page(count: int) -> bytes:
    reviews = [
        {
            "@type": "Review",
            "author": {"@type": "Person", "name": f"client {i}"},
            "datePublished": "2026-11-01T10:00:00+01:00",
            "reviewBody": f"avis numéro {i} " * 14,
            "reviewRating": {"@type": "Rating", "ratingValue": i % 5 + 1, "bestRating": 5},
        }
        for i in range(count)
    ]
    product = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Box",
        "review": reviews,
    }
    script = json.dumps(product, ensure_ascii=False)
    return (
        f'<html><head><script type="application/ld+json">{script}</script></head></html>'.encode()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=10_000)
    args = parser.parse_args()
    body = page(args.reviews)
    url = "https://shop.example/p/box"
    selector = html_response(body, url).selector
    print(f"page: {len(body) / 1e6:.1f} MB, {args.reviews} reviews")
    for limit in (500, args.reviews):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            found = extract_reviews(selector, url, limit=limit)
            best = min(best, time.perf_counter() - start)
        tracemalloc.start()
        extract_reviews(selector, url, limit=limit)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"max_reviews {limit:>6}: {len(found.reviews):>6} read in {best * 1000:.0f} ms, "
            f"peak {peak / 1e6:.0f} MB, skipped {dict(found.problems)}"
        )


if __name__ == "__main__":
    main()
