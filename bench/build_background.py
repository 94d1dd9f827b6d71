"""Build the engine's packaged background corpus from the real-text development sets.

Usage: python bench/build_background.py

Writes ``matchmaker/matching/engine/background.json.gz``: the free texts (SME needs, startup
offers) of every real dev set of ``bench/bench_matching.py``, with their source pages; no
labels, no names, tags or sectors.  Held-out sets are never read.  Also stores the texts' stem
and concept counts under the packaged thesaurus; rerun after changing ``thesaurus.txt`` (until
then every process analyses the texts once more on its first fit).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_matching import background_texts  # noqa: E402
from matchmaker.language.thesaurus import load_cached  # noqa: E402
from matchmaker.matching.engine.background import (  # noqa: E402
    PACKAGED,
    Background,
    thesaurus_fingerprint,
)


def main() -> None:
    texts = background_texts()
    doc = {
        "about": (
            "Background corpus of the matching engine's latent semantic block: short excerpts "
            "of public web pages (needs of German SMEs, offers of AI startups), as collected "
            "for the real-text development sets in bench/data (see bench/data/README.md). "
            "Unlabelled: only the free texts, each with the page it was taken from."
        ),
        "licence": (
            "Short quotations of public pages for research and evaluation; copyright stays "
            "with the pages' owners (source_url of each text)."
        ),
        "texts": texts,
        # the texts analysed with the packaged thesaurus, so that a fit need not analyse them
        "analysis": {
            "thesaurus_sha256": thesaurus_fingerprint(),
            **Background.from_texts([t["text"] for t in texts], load_cached(None)).to_dict(),
        },
    }
    raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with gzip.GzipFile(PACKAGED, "wb", mtime=0) as f:
        f.write(raw)
    print(f"{len(texts)} texts, {PACKAGED.stat().st_size / 1024:.0f} KiB -> {PACKAGED}")


if __name__ == "__main__":
    main()
