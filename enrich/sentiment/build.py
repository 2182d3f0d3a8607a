"""Build the sentiment model shipped with Veille: ``python -m enrich.sentiment.build``.

It learns `enrich.sentiment.trained` models, with the parameters nested cross-validation chose
(`enrich.sentiment.trained.Params`, ``python -m bench.sentiment_cv``), from the UMSAB train sets
of ``../shared/data/sentiment`` in eight languages (en, fr, de, es, it, pt, ar, hi: 1,839 tweets
each, 14,712 in all; one model pair per language, one more for any other language), and writes
``enrich/sentiment/models/default.npz``, which the ``trained`` backend loads when no ``model``
is set. Nothing else is read: no val or test set, no download. Seeds are fixed, so the same data
gives the same model: its version is a hash of the data and parameters, and two builds hold the
same arrays (only the creation time in the metadata differs).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from enrich.sentiment.evaluate import load_labeled
from enrich.sentiment.trained import Params, default_model_path, save, train

LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "ar", "hi")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/sentiment"))
    parser.add_argument("--out", type=Path, default=default_model_path())
    args = parser.parse_args(argv)
    files = [args.data / f"umsab_{lang}_train.jsonl" for lang in LANGUAGES]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        parser.error(f"missing training data: {', '.join(missing)}")
    labeled = load_labeled(*files)
    started = time.monotonic()
    print(
        f"training on {len(labeled.examples)} tweets: "
        f"{dict(Counter(e.lang for e in labeled.examples))}"
    )
    model = train(labeled.examples, Params())
    path = save(model, args.out)
    print(
        f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, model {model.name}, "
        f"{time.monotonic() - started:.0f} s)"
    )
    return path


if __name__ == "__main__":
    main()
