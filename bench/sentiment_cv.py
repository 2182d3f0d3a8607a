"""Benchmark: how good the trained sentiment model is on tweets it has not seen, honestly.

For each language, on the UMSAB train set of ``../shared/data/sentiment`` (1,839 tweets,
balanced), nested cross-validation:

- outer folds (5, stratified, seed 0) give the figure: each outer fold's tweets are scored by a
  model that never saw them and whose every choice was made without them;
- inner folds (3, on the outer training part only) make every choice: the text model's
  regularisation and whether words after a negator are marked (`GRID`); the best inner mean
  macro-F1 wins, then a model with it is fitted on the whole outer training part.

The figure is macro-F1 over the pooled outer predictions, with a 95 % bootstrap interval over the
tweets (`enrich.sentiment.evaluate.bootstrap_interval`); each outer fold's macro-F1 and choice
are printed too, and the lexicon backend's figure on the same tweets (it learns nothing; its
French entries and both thresholds were chosen by reading UMSAB French and English train, so on
those two its train figure flatters it).

Then the final check, once: a model with the choice the inner folds make on the whole train set,
fitted on the whole train set, scored on the language's val set (324 tweets), beside the
lexicon. No test set is read.

    python -m bench.sentiment_cv [--langs fr,en] [--data ../shared/data/sentiment] [--quick]

``--quick`` is the variant CI runs (`tests/test_sentiment.py`): 3-fold cross-validation with the
parameters the nested run chose (`enrich.sentiment.trained.Params`), no inner folds.
``--shared`` measures the models learnt from every language instead of the language's own: each
fold's training part gets the other seven languages' train sets too (how the shipped model
serves Hindi, `Params.shared`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from enrich.sentiment.evaluate import Labeled, bootstrap_interval, load_labeled, macro_f1
from enrich.sentiment.lexicon import LexiconSentiment
from enrich.sentiment.trained import Params, TrainedModel, train

LANGUAGES = ("fr", "en", "de", "es", "it", "pt", "ar", "hi")
BASE = Params(folds=3)
GRID = tuple(replace(BASE, c=c, negation=n) for c in (0.5, 2.0) for n in (True, False))
"""The choices the inner folds make. ``folds=3`` for the stacking's out-of-fold probabilities
inside the cross-validation, to keep it to minutes; the shipped model uses 5."""


@dataclass
class Outcome:
    lang: str
    how: str
    gold: list[str]
    predicted: list[str]
    folds: list[float]
    chosen: list[str]

    def line(self) -> str:
        f1 = macro_f1(self.gold, self.predicted)
        low, high = bootstrap_interval(self.gold, self.predicted)
        folds = ", ".join(f"{f:.1f}" for f in self.folds)
        chosen = f"; chosen: {', '.join(self.chosen)}" if self.chosen else ""
        return (
            f"{self.lang}  {self.how}: macro-F1 {f1:.1f} [95% CI {low}, {high}] "
            f"(n={len(self.gold)}; folds {folds}{chosen})"
        )


def describe(params: Params) -> str:
    return f"C={params.c}{'' if params.negation else ' no-negation'}"


def predict(model: TrainedModel, examples: list[Labeled]) -> list[str]:
    texts, langs = [e.text for e in examples], [e.lang for e in examples]
    return [max(p, key=p.__getitem__) for p in model.probabilities(texts, langs)]


def folds(examples: list[Labeled], k: int, seed: int) -> list[tuple[list[int], list[int]]]:
    from sklearn.model_selection import StratifiedKFold

    gold = [e.label for e in examples]
    split = StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(gold)), gold)
    return [(list(a), list(b)) for a, b in split]


def choose(examples: list[Labeled], grid: tuple[Params, ...], k: int = 3) -> Params:
    """The parameters with the best mean macro-F1 over ``k`` folds of ``examples``."""
    if len(grid) == 1:
        return grid[0]
    means = []
    for params in grid:
        scores = []
        for fit, held in folds(examples, k, seed=1):
            model = train([examples[i] for i in fit], params)
            held_out = [examples[i] for i in held]
            scores.append(macro_f1([e.label for e in held_out], predict(model, held_out)))
        means.append(sum(scores) / len(scores))
    return grid[int(np.argmax(means))]


def cross_validate(
    lang: str,
    examples: list[Labeled],
    grid: tuple[Params, ...],
    outer: int,
    extra: list[Labeled] | None = None,
) -> tuple[Outcome, Outcome]:
    """Cross-validate on ``examples``; ``extra`` examples join every training part."""
    nested = len(grid) > 1
    how = (
        f"nested CV ({outer} outer folds, 3 inner folds choosing among {len(grid)} settings)"
        if nested
        else f"{outer}-fold CV with fixed parameters ({describe(grid[0])})"
    )
    trained = Outcome(lang, f"trained, {how}", [], [], [], [])
    lexicon = Outcome(lang, f"lexicon, same {outer} folds", [], [], [], [])
    backend = LexiconSentiment()
    for fit, held in folds(examples, outer, seed=0):
        part = [examples[i] for i in fit]
        held_out = [examples[i] for i in held]
        params = choose(part, grid)
        model = train(part + (extra or []), params)
        gold = [e.label for e in held_out]
        predicted = predict(model, held_out)
        trained.gold += gold
        trained.predicted += predicted
        trained.folds.append(macro_f1(gold, predicted))
        trained.chosen.append(describe(params))
        verdicts = backend.score([e.text for e in held_out], [e.lang for e in held_out])
        lexicon_predicted = [v.label for v in verdicts]
        lexicon.gold += gold
        lexicon.predicted += lexicon_predicted
        lexicon.folds.append(macro_f1(gold, lexicon_predicted))
        print(f"  {lang} fold {len(trained.folds)}: {trained.folds[-1]:.1f}", file=sys.stderr)
    return trained, lexicon


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/sentiment"))
    parser.add_argument("--langs", default="fr,en")
    parser.add_argument("--quick", action="store_true", help="3-fold CV, fixed parameters")
    parser.add_argument("--no-val", action="store_true", help="skip the final check on val")
    parser.add_argument(
        "--shared", action="store_true", help="with --quick: the models learnt from every language"
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    for lang in args.langs.split(","):
        started = time.monotonic()
        examples = load_labeled(args.data / f"umsab_{lang}_train.jsonl").examples
        grid = (Params(folds=3),) if args.quick else GRID
        extra = None
        if args.shared:
            if not args.quick:
                parser.error("--shared goes with --quick")
            grid = (Params(folds=3, min_examples=10**9),)  # no language gets models of its own
            others = [args.data / f"umsab_{o}_train.jsonl" for o in LANGUAGES if o != lang]
            extra = load_labeled(*others).examples
        trained, lexicon = cross_validate(lang, examples, grid, 3 if args.quick else 5, extra)
        if args.shared:
            trained.how = trained.how.replace("fixed parameters", "shared models, fixed parameters")
        print(trained.line())
        print(lexicon.line())
        results[lang] = {
            "trained": round(macro_f1(trained.gold, trained.predicted), 1),
            "trained_ci": bootstrap_interval(trained.gold, trained.predicted),
            "lexicon": round(macro_f1(lexicon.gold, lexicon.predicted), 1),
            "chosen": dict(Counter(trained.chosen)),
        }
        if not args.no_val:
            params = choose(examples, grid)
            model = train(examples, replace(params, folds=5))
            val = load_labeled(args.data / f"umsab_{lang}_val.jsonl").examples
            gold = [e.label for e in val]
            verdicts = LexiconSentiment().score([e.text for e in val], [e.lang for e in val])
            for name, predicted in (
                (f"trained ({describe(params)}, fitted on all of train)", predict(model, val)),
                ("lexicon", [v.label for v in verdicts]),
            ):
                low, high = bootstrap_interval(gold, predicted)
                print(
                    f"{lang}  val, final check, {name}: macro-F1 {macro_f1(gold, predicted):.1f} "
                    f"[95% CI {low}, {high}] (n={len(gold)})"
                )
                results[lang][f"val_{name.split()[0]}"] = round(macro_f1(gold, predicted), 1)
        print(f"  {lang}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
