"""Benchmark the matching engine and record the figures in bench/RESULTS.md.

Usage: python bench/bench_matching.py [--smes 10000] [--startups 2000] [--no-write]
       [--quality-only] [--dev-only] [--final] [--cv-only] [--seeds N]

Generates deterministic synthetic profiles (German/English/mixed sentences built from domain
phrases, 2-6 sentences, varied compounds and a few typos), then measures fit + top-10 in both
directions with reasons and levels, peak RSS, suggest() latency, and plain word TF-IDF with the
same top-k code as a reference.  Quality: the full engine, each part left out, and the plain
baselines on every development set (the two written here and the thirty-one real-text sets,
also pooled as "real dev (all)"); ``--final`` adds the real held-out sets of
``REAL_HELDOUT_FILES`` (those that exist), which are for reporting only and are scored once at
the end of a change.  Cross-validation
over the real dev pool (leave one set out, leave one sector family out) tells whether choosing
the engine's settings on labelled data carries over to texts it was not chosen on
(``--cv-only`` runs just that).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matchmaker.language.thesaurus import load_cached, parse_text  # noqa: E402
from matchmaker.matching.engine import MatchEngine, Profile, top_k_pairs  # noqa: E402
from matchmaker.matching.engine.background import Background  # noqa: E402
from matchmaker.matching.evaluation import (  # noqa: E402
    _both_directions,
    baseline_scores,
    load_labelled,
    ndcg_at_k,
    rank_by_score,
)

QUALITY_SETS = {
    "dev": ROOT / "tests/data/matching-dev.json",
    "held-out (regression)": ROOT / "bench/data/matching-heldout.json",
    "real dev": ROOT / "bench/data/matching-real-dev.json",
    # real held-out sets 1-3, scored after several changes and retired into development data
    # (issue 12): tuned and analysed together with the real dev set, see bench/data/README.md
    "real dev 2 (ex held-out 1)": ROOT / "bench/data/matching-real-heldout.json",
    "real dev 3 (ex held-out 2)": ROOT / "bench/data/matching-real-heldout2.json",
    "real dev 4 (ex held-out 3)": ROOT / "bench/data/matching-real-heldout3.json",
    # real held-out sets 4-6, scored for the last time on 2026-12-06 at 14:25 UTC and retired into
    # development data that evening
    "real dev 5 (ex held-out 4)": ROOT / "bench/data/matching-real-heldout4.json",
    "real dev 6 (ex held-out 5)": ROOT / "bench/data/matching-real-heldout5.json",
    "real dev 7 (ex held-out 6)": ROOT / "bench/data/matching-real-heldout6.json",
    # real held-out sets 7 and 8, scored for the last time on 2026-12-06 at 16:51 UTC (after the
    # engine15 change) and retired into development data right after
    "real dev 8 (ex held-out 7)": ROOT / "bench/data/matching-real-heldout7.json",
    "real dev 9 (ex held-out 8)": ROOT / "bench/data/matching-real-heldout8.json",
    # real held-out sets 9 and 10, scored once on 2026-12-06 at 17:29 UTC (after the engine16
    # change) and retired into development data at the start of the next session
    "real dev 10 (ex held-out 9)": ROOT / "bench/data/matching-real-heldout9.json",
    "real dev 11 (ex held-out 10)": ROOT / "bench/data/matching-real-heldout10.json",
    # real held-out sets 11 to 14, scored before and after the engine17 change on 2026-12-06 and
    # retired into development data right after
    "real dev 12 (ex held-out 11)": ROOT / "bench/data/matching-real-heldout11.json",
    "real dev 13 (ex held-out 12)": ROOT / "bench/data/matching-real-heldout12.json",
    "real dev 14 (ex held-out 13)": ROOT / "bench/data/matching-real-heldout13.json",
    "real dev 15 (ex held-out 14)": ROOT / "bench/data/matching-real-heldout14.json",
    # real held-out sets 15 and 16, scored once on 2026-12-06 at 20:32 UTC (before and after the
    # corpus rebuild) and retired into development data right after
    "real dev 16 (ex held-out 15)": ROOT / "bench/data/matching-real-heldout15.json",
    "real dev 17 (ex held-out 16)": ROOT / "bench/data/matching-real-heldout16.json",
    # real held-out sets 17 and 18, scored once on 2026-12-06 at 20:45 UTC and retired into
    # development data at the start of the ninth session, before any further engine change
    "real dev 18 (ex held-out 17)": ROOT / "bench/data/matching-real-heldout17.json",
    "real dev 19 (ex held-out 18)": ROOT / "bench/data/matching-real-heldout18.json",
    # real held-out sets 19 to 23, scored once in the ninth session (2026-12-06, on main 6dbbee5)
    # and retired into development data at its end, before any further engine change
    "real dev 20 (ex held-out 19)": ROOT / "bench/data/matching-real-heldout19.json",
    "real dev 21 (ex held-out 20)": ROOT / "bench/data/matching-real-heldout20.json",
    "real dev 22 (ex held-out 21)": ROOT / "bench/data/matching-real-heldout21.json",
    "real dev 23 (ex held-out 22)": ROOT / "bench/data/matching-real-heldout22.json",
    "real dev 24 (ex held-out 23)": ROOT / "bench/data/matching-real-heldout23.json",
    # real held-out sets 24 to 26, scored before and after the ninth session's weight change and
    # retired into development data right after
    "real dev 25 (ex held-out 24)": ROOT / "bench/data/matching-real-heldout24.json",
    "real dev 26 (ex held-out 25)": ROOT / "bench/data/matching-real-heldout25.json",
    "real dev 27 (ex held-out 26)": ROOT / "bench/data/matching-real-heldout26.json",
    # real held-out sets 27 to 30, scored on the ninth session's final engine and once more after
    # the tenth session's sector weight change, and retired into development data right after
    "real dev 28 (ex held-out 27)": ROOT / "bench/data/matching-real-heldout27.json",
    "real dev 29 (ex held-out 28)": ROOT / "bench/data/matching-real-heldout28.json",
    "real dev 30 (ex held-out 29)": ROOT / "bench/data/matching-real-heldout29.json",
    "real dev 31 (ex held-out 30)": ROOT / "bench/data/matching-real-heldout30.json",
}
# the thirty-one real-text development sets: pooled as "real dev (all)", left out in turn by the
# leave-one-set-out check
REAL_DEV_SETS = (
    "real dev",
    "real dev 2 (ex held-out 1)",
    "real dev 3 (ex held-out 2)",
    "real dev 4 (ex held-out 3)",
    "real dev 5 (ex held-out 4)",
    "real dev 6 (ex held-out 5)",
    "real dev 7 (ex held-out 6)",
    "real dev 8 (ex held-out 7)",
    "real dev 9 (ex held-out 8)",
    "real dev 10 (ex held-out 9)",
    "real dev 11 (ex held-out 10)",
    "real dev 12 (ex held-out 11)",
    "real dev 13 (ex held-out 12)",
    "real dev 14 (ex held-out 13)",
    "real dev 15 (ex held-out 14)",
    "real dev 16 (ex held-out 15)",
    "real dev 17 (ex held-out 16)",
    "real dev 18 (ex held-out 17)",
    "real dev 19 (ex held-out 18)",
    "real dev 20 (ex held-out 19)",
    "real dev 21 (ex held-out 20)",
    "real dev 22 (ex held-out 21)",
    "real dev 23 (ex held-out 22)",
    "real dev 24 (ex held-out 23)",
    "real dev 25 (ex held-out 24)",
    "real dev 26 (ex held-out 25)",
    "real dev 27 (ex held-out 26)",
    "real dev 28 (ex held-out 27)",
    "real dev 29 (ex held-out 28)",
    "real dev 30 (ex held-out 29)",
    "real dev 31 (ex held-out 30)",
)
REAL_POOL = "real dev (all)"
DEV_SETS = tuple(QUALITY_SETS)  # every set a change may be tuned on
# for reporting only: scored once, at the end of a change, with --final (see bench/data/README.md)
# (a file not collected yet is skipped with a message)
REAL_HELDOUT_FILES: dict[str, Path] = {
    # collected in the tenth session by sessions that read no engine code, after its engine
    # change: unscored; score them once at the end of the next change (before and after it)
    "real held-out 31": ROOT / "bench/data/matching-real-heldout31.json",
    "real held-out 32": ROOT / "bench/data/matching-real-heldout32.json",
    "real held-out 33": ROOT / "bench/data/matching-real-heldout33.json",
    "real held-out 34": ROOT / "bench/data/matching-real-heldout34.json",
}
SECTOR_MARKER = "-- sector use cases"  # the heading of the sector groups in thesaurus.txt
RESULTS = ROOT / "bench/RESULTS.md"
SECTION = "## Matching engine"

# Domain vocabulary for the generator: (German modifiers, German heads, English phrases) per
# topic.  Deliberately generic; none of it is taken from the evaluation file.
TOPICS = {
    "finance": (
        ["Eingangs", "Ausgangs", "Lieferanten", "Papier", "Reisekosten", "Monats"],
        ["rechnungen", "belege", "buchhaltung", "abrechnung", "mahnungen", "zahlungen"],
        ["invoice processing", "bookkeeping", "accounts payable", "expense reports"],
    ),
    "security": (
        ["Cyber", "Netzwerk", "Phishing", "IT-", "Passwort", "Server"],
        ["angriffe", "sicherheit", "schutz", "schwachstellen", "mails", "vorfälle"],
        ["ransomware", "phishing detection", "security monitoring", "SIEM"],
    ),
    "maintenance": (
        ["Pumpen", "Maschinen", "Anlagen", "Motor", "Getriebe", "Lager"],
        ["wartung", "ausfälle", "störungen", "instandhaltung", "stillstände", "schäden"],
        ["predictive maintenance", "condition monitoring", "vibration analysis", "downtime"],
    ),
    "energy": (
        ["Solar", "Wind", "Strom", "Netz", "Einspeise", "Last"],
        ["prognose", "parks", "verbrauch", "speicher", "gang", "anlagen"],
        ["energy forecasting", "grid feed-in", "battery storage", "load forecast"],
    ),
    "documents": (
        ["Akten", "Formular", "Post", "Antrags", "Vertrags", "Dokumenten"],
        ["erfassung", "eingang", "ablage", "scans", "archiv", "prüfung"],
        ["OCR", "document capture", "data extraction", "classification"],
    ),
    "service": (
        ["Kunden", "Bürger", "Service", "Mieter", "Patienten", "Telefon"],
        ["anfragen", "hotline", "anliegen", "beschwerden", "chatbot", "termine"],
        ["customer service", "chatbot", "voicebot", "helpdesk tickets"],
    ),
    "quality": (
        ["Oberflächen", "Schweißnaht", "Bauteil", "Sicht", "Qualitäts", "Kamera"],
        ["fehler", "prüfung", "kontrolle", "ausschuss", "bilder", "risse"],
        ["computer vision", "visual inspection", "defect detection", "quality control"],
    ),
    "media": (
        ["Film", "Video", "Animations", "Render", "Post", "Ton"],
        ["produktion", "effekte", "zeiten", "studio", "schnitt", "archiv"],
        ["VFX", "compositing", "rendering", "dubbing"],
    ),
    "hr": (
        ["Bewerber", "Personal", "Fachkräfte", "Schicht", "Stellen", "Azubi"],
        ["management", "gewinnung", "mangel", "planung", "anzeigen", "suche"],
        ["recruiting", "shift planning", "applicant tracking", "onboarding"],
    ),
    "logistics": (
        ["Touren", "Routen", "Lager", "Liefer", "Fahrzeug", "Paket"],
        ["planung", "optimierung", "bestand", "kette", "flotte", "zustellung"],
        ["route optimisation", "warehouse", "supply chain", "dispatch"],
    ),
    "agri": (
        ["Boden", "Wald", "Acker", "Wasser", "Grundwasser", "Ernte"],
        ["proben", "brände", "flächen", "qualität", "stände", "prognose"],
        ["precision farming", "remote sensing", "soil moisture", "forestry"],
    ),
    "sales": (
        ["Vertriebs", "Marketing", "Kampagnen", "Lead", "Online", "Social-Media"],
        ["team", "texte", "planung", "generierung", "shop", "beiträge"],
        ["lead generation", "content creation", "online marketing", "sales forecast"],
    ),
}
DE_TEMPLATES = [
    "Wir haben Probleme mit {a} und {b}.",
    "Unsere {a} kostet viel Zeit, besonders bei {b}.",
    "Wir suchen eine KI-Lösung für {a}.",
    "Die {a} läuft noch manuell, {b} sollen automatisiert werden.",
    "Bei {a} und {en} fehlt uns Erfahrung.",
    "Gesucht wird Unterstützung bei {a} sowie {b}.",
]
EN_TEMPLATES = [
    "We need help with {en} and {en2}.",
    "Our team spends hours on {en}.",
    "We offer {en} for SMEs, including {a}.",
    "Our AI platform automates {en} and {en2}.",
]
FILLER = [
    "Wir sind ein mittelständisches Unternehmen aus der Region.",
    "Daten liegen in verschiedenen Systemen.",
    "Our digital solution is easy to use.",
    "Die Lösung soll DSGVO-konform sein.",
]


def _compound(rng: random.Random, topic: str) -> str:
    mods, heads, _ = TOPICS[topic]
    word = rng.choice(mods) + rng.choice(heads)
    if word[-1] != "-" and rng.random() < 0.05:  # a typo now and then
        i = rng.randrange(1, len(word) - 1)
        word = word[:i] + word[i + 1 :]
    return word.replace("--", "-")


def make_text(rng: random.Random, kind: str) -> str:
    topics = rng.sample(sorted(TOPICS), k=rng.choice((1, 1, 2)))
    sentences = []
    for _ in range(rng.randint(2, 6)):
        topic = rng.choice(topics)
        en = TOPICS[topic][2]
        if rng.random() < 0.15:
            sentences.append(rng.choice(FILLER))
            continue
        english = rng.random() < (0.5 if kind == "startup" else 0.25)
        template = rng.choice(EN_TEMPLATES if english else DE_TEMPLATES)
        sentences.append(
            template.format(
                a=_compound(rng, topic),
                b=_compound(rng, topic),
                en=rng.choice(en),
                en2=rng.choice(en),
            )
        )
    return " ".join(sentences)


def make_profiles(n_smes: int, n_startups: int, seed: int = 20240611) -> list[Profile]:
    rng = random.Random(seed)
    out = [Profile(f"sme-{i}", "sme", make_text(rng, "sme")) for i in range(n_smes)]
    for i in range(n_startups):
        topic = rng.choice(sorted(TOPICS))
        tags = tuple(rng.sample(TOPICS[topic][2], k=2))
        out.append(Profile(f"st-{i}", "startup", make_text(rng, "startup"), tags=tags))
    return out


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_speed(n_smes: int, n_startups: int, k: int = 10) -> dict:
    profiles = make_profiles(n_smes, n_startups)
    rss_before = peak_rss_mib()
    load_start = os.getloadavg()[0]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    engine = MatchEngine().fit(profiles)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    sme_top, st_top = engine.top_k_both(k)  # with reasons and levels
    t_topk = time.perf_counter() - t0
    cpu_total = time.process_time() - cpu0
    assert len(sme_top) == n_smes and len(st_top) == n_startups
    # reasons for the returned top-k of 1,000 SMEs (10,000 pairs)
    t0 = time.perf_counter()
    some = engine.rows_["sme"][:1000]
    for i in some.tolist():
        engine.suggest(engine.refs_[i], k)
    t_reasons = time.perf_counter() - t0

    rng = random.Random(7)
    sample = rng.sample([p.ref for p in profiles], 500)
    lat = []
    for ref in sample:
        t = time.perf_counter()
        engine.suggest(ref, k)
        lat.append(time.perf_counter() - t)
    lat_ms = np.array(lat) * 1000

    # plain word TF-IDF with the same top-k code, as the reference ratio
    texts = [p.text + " " + " ".join(p.tags) for p in profiles]
    t0 = time.perf_counter()
    X = TfidfVectorizer(dtype=np.float32).fit_transform(texts)
    top_k_pairs(X[:n_smes], X[n_smes:], k, columns=True)
    t_plain = time.perf_counter() - t0
    return {
        "n_smes": n_smes,
        "n_startups": n_startups,
        "fit_s": t_fit,
        "topk_both_s": t_topk,
        "total_s": t_fit + t_topk,
        "total_cpu_s": cpu_total,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "peak_rss_mib": peak_rss_mib(),
        "rss_before_mib": rss_before,
        "suggest_p50_ms": float(np.percentile(lat_ms, 50)),
        "suggest_p95_ms": float(np.percentile(lat_ms, 95)),
        "plain_tfidf_s": t_plain,
        "suggest_1000_s": t_reasons,
        "n_features": engine.X_.shape[1],
        "nnz_per_profile": engine.X_.nnz / engine.X_.shape[0],
    }


def background_texts(names: tuple[str, ...] = REAL_DEV_SETS) -> list[dict]:
    """The free texts of the named sets with their sources (no labels, names, tags, sectors)."""
    out = []
    for name in names:
        path = QUALITY_SETS[name]
        data = json.loads(path.read_text(encoding="utf-8"))
        for kind, field in (("smes", "needs"), ("startups", "offering")):
            for r in data[kind]:
                if r.get(field, "").strip():
                    out.append(
                        {"text": r[field], "source_url": r.get("source_url", ""), "set": path.name}
                    )
    return out


_BACKGROUNDS: dict[str, Background] = {}


def background_for(name: str) -> Background | bool:
    """The background corpus a set is scored with: without that set's own texts.

    The packaged corpus holds the texts of all real dev sets; scoring one of them, the engine
    gets the corpus of the other sixteen (leave one set out), as an event it was not built from
    would.  Every other set (dev, regression, held-out) gets the packaged corpus.
    """
    if name not in REAL_DEV_SETS:
        return True
    if name not in _BACKGROUNDS:
        others = tuple(n for n in REAL_DEV_SETS if n != name)
        texts = [r["text"] for r in background_texts(others)]
        _BACKGROUNDS[name] = Background.from_texts(texts, load_cached(None))
    return _BACKGROUNDS[name]


def _for_set(params: dict, name: str) -> dict:
    return params if "background" in params else {**params, "background": background_for(name)}


def _engine_scores(**params):
    def score(smes, startups):
        engine = MatchEngine(**params).fit([*smes, *startups])
        return engine.score_matrix("sme")[2]

    # the latent semantic block depends on the seed of its randomized SVD; with --seeds the
    # engine rows are averaged over seeds 0..n-1, so no setting wins by a lucky draw
    score.engine_params = params
    return score


def _seed_mean(results: list[dict]) -> dict:
    """Average the metrics of several runs (same structure: direction -> metric -> value)."""
    return {
        d: {m: float(np.mean([r[d][m] for r in results])) for m in results[0][d]}
        for d in results[0]
    }


def _thesaurus_without_sector_concepts() -> dict:
    """The packaged thesaurus minus the sector use-case groups (the part added for real texts)."""
    packaged = ROOT / "matchmaker/language/thesaurus.txt"
    text = packaged.read_text(encoding="utf-8")
    groups = parse_text(text)
    first_new = parse_text(text[text.index(SECTOR_MARKER) + len(SECTOR_MARKER) :])[0]["id"]
    cut = next(i for i, g in enumerate(groups) if g["id"] == first_new)
    kept = groups[:cut]
    ids = {g["id"] for g in kept}
    kept = [{**g, "broader": [b for b in g.get("broader", []) if b in ids]} for g in kept]
    return {"groups": kept}


# every counted block weighted by IDF, as the engine did before issue 12's second follow-up
ALL_IDF = ("char", "word", "concept", "category")


def ablations() -> dict[str, Callable]:
    """Each setting: the full engine, one part left out, or a plain baseline."""
    return {
        "full engine": _engine_scores(),
        "without the sector concepts": _engine_scores(
            thesaurus=_thesaurus_without_sector_concepts()
        ),
        "without the thesaurus": _engine_scores(thesaurus={"groups": []}),
        "without the semantic (LSA) block": _engine_scores(semantic_weight=0.0),
        "without character n-grams": _engine_scores(char_weight=0.0),
        "without stems": _engine_scores(word_weight=0.0),
        "without categories": _engine_scores(category_weight=0.0),
        "without the concept links (link_weight 0)": _engine_scores(link_weight=0.0),
        "concept links from the event's texts only (no background corpus)": _engine_scores(
            background=False
        ),
        "without the hubness correction (hub_weight 0)": _engine_scores(hub_weight=0.0),
        "without the synonym sets (OpenThesaurus, synonym_weight 0)": _engine_scores(
            synonym_weight=0.0
        ),
        "trade concepts at full weight (trade_weight 1.0, as before)": _engine_scores(
            trade_weight=1.0
        ),
        "trade words at half weight (trade_word_weight 0.5)": _engine_scores(trade_word_weight=0.5),
        "concept block with IDF (as before)": _engine_scores(idf_blocks=ALL_IDF),
        "compound parts at half weight (as before)": _engine_scores(compound_weight=0.5),
        "without sector concepts and LSA": _engine_scores(
            thesaurus=_thesaurus_without_sector_concepts(), semantic_weight=0.0
        ),
        "plain word TF-IDF": baseline_scores("word"),
        "char n-gram TF-IDF (char_wb 3-5)": baseline_scores("char"),
    }


def pooled(by_set: dict, names: tuple[str, ...] = REAL_DEV_SETS) -> dict:
    """Metrics of several sets as one pool: each set's mean weighted by how many it averaged.

    Each set is fitted and ranked on its own (its candidates are its own startups); the pool
    is the mean over all their SMEs (and over all their startups with a relevant SME).
    """
    out = {}
    for d in by_set[names[0]]:
        n = np.array([by_set[name][d]["n"] for name in names], dtype=np.float64)
        out[d] = {
            m: float(np.dot(n, [by_set[name][d][m] for name in names]) / n.sum())
            for m in by_set[names[0]][d]
            if m != "n"
        }
        out[d]["n"] = float(n.sum())
    return out


def bench_quality(final: bool = False, seeds: int = 1, dev_only: bool = False) -> dict:
    """Score every ablation on every labelled set; the real held-out set only with ``final``.

    With ``seeds`` > 1 every engine setting is fitted with ``random_state`` 0..seeds-1 and its
    metrics are averaged (the baselines have no seed).  Every set of ``QUALITY_SETS`` is a
    development set; the thirty-one real ones are also pooled (``real dev (all)``).  ``dev_only``
    makes sure no held-out file is read (it excludes ``final``).
    """
    sets = {name: QUALITY_SETS[name] for name in DEV_SETS}
    if dev_only and final:
        raise ValueError("--dev-only and --final exclude each other")
    if final:
        for name, path in REAL_HELDOUT_FILES.items():
            if path.exists():
                sets[name] = path
            else:
                print(f"{name}: {path.name} does not exist yet, skipped")
    data = {name: load_labelled(path) for name, path in sets.items()}
    out: dict[str, dict] = {}
    for setting, score in ablations().items():
        params = getattr(score, "engine_params", None)

        def fns(name, score=score, params=params):
            if params is None:
                return [score]
            return [
                _engine_scores(**_for_set(params, name), random_state=seed)
                for seed in range(max(seeds, 1))
            ]

        by_set = {
            name: _seed_mean([_both_directions(fn, smes, startups, qrels) for fn in fns(name)])
            for name, (smes, startups, qrels) in data.items()
        }
        pool = pooled(by_set)
        # the pool right after the last real dev set, before any held-out set
        at = list(by_set).index(REAL_DEV_SETS[-1]) + 1
        items = list(by_set.items())
        out[setting] = dict([*items[:at], (REAL_POOL, pool), *items[at:]])
    return out


# Sector families of the real dev SMEs, read from their free-text ``sector`` field (first match).
SECTOR_FAMILIES = (
    ("food", r"bäck|bak|molker|fleisch|metzg|lebensmittel|food|dairy"),
    ("care", r"pflege|care|nursing"),
    ("health", r"arzt|praxis|gesundheit|medical|health"),
    ("waste", r"entsorg|abfall|recycl|wertstoff|waste"),
    ("media", r"medien|media|publish|verlag|zeitung|newspaper|kreativ|creative"),
    ("law and tax", r"steuer|tax|kanzlei|law"),
    ("public administration", r"verwaltung|public|kommun|stadt(?!werk)|amt|city|district"),
    ("energy", r"energie|stadtwerk|biogas|energy"),
    ("agriculture", r"landwirt|agri|farm"),
    ("logistics", r"logist|spedit"),
    ("construction and crafts", r"bau|construct|sanit|shk|kfz|handwerk|schrein|holz|craft"),
    ("manufacturing", r"fertig|metall|textil|werkzeug|bodenbel|manuf"),
    ("tourism", r"hotel|gast|touris"),
    ("retail", r"handel|retail"),
    ("other", r"."),
)
# Settings the leave-sector-out check chooses among: the defaults, one change of each weight, and
# the weight of trade concepts ("who": bakery, hotel) and of words naming only a trade.
CV_GRID = {
    "defaults": {},
    "concept weight 0.6": {"concept_weight": 0.6},
    "concept weight 0.4": {"concept_weight": 0.4},
    "sector weight 1.0": {"sector_weight": 1.0},
    "sector weight 0.5": {"sector_weight": 0.5},
    "semantic weight 0.25": {"semantic_weight": 0.25},
    "semantic weight 0.5": {"semantic_weight": 0.5},
    "30 latent components": {"semantic_components": 30},
    "50 latent components": {"semantic_components": 50},
    "trade weight 1.0": {"trade_weight": 1.0},
    "trade weight 0.6": {"trade_weight": 0.6},
    "trade weight 0.4": {"trade_weight": 0.4},
    "trade word weight 0.5": {"trade_word_weight": 0.5},
    "concept block with IDF": {"idf_blocks": ALL_IDF},
    "compound weight 0.5": {"compound_weight": 0.5},
    "compound weight 1.5": {"compound_weight": 1.5},
    "without the hubness correction": {"hub_weight": 0.0},
    "hub weight 0.15": {"hub_weight": 0.15},
    "hub weight 0.4": {"hub_weight": 0.4},
    "hubness over the best 5": {"hub_k": 5},
    "without the concept links": {"link_weight": 0.0},
    "link weight 0.05": {"link_weight": 0.05},
    "link weight 0.2": {"link_weight": 0.2},
    # where the links are learnt: the event's texts alone, or with the background corpus
    "links from the event's texts only": {"background": False},
    "without the synonym block": {"synonym_weight": 0.0},
    "synonym weight 1": {"synonym_weight": 1.0},
    "synonym weight 4": {"synonym_weight": 4.0},
    "synonyms of stems in up to 3 synsets": {"synonym_max_senses": 3},
    # the defaults before the ninth session (char 0.3, concepts 0.4), and the character block
    # between them and today's
    "char weight 0.3, concept weight 0.4 (before)": {"char_weight": 0.3, "concept_weight": 0.4},
    "char weight 0.6": {"char_weight": 0.6},
}


def sector_family(sector: str) -> str:
    text = sector.lower()
    return next(name for name, pattern in SECTOR_FAMILIES if re.search(pattern, text))


def _per_sme_ndcg(params: dict, smes, startups, qrels, seeds: int) -> np.ndarray:
    """nDCG@5 of every SME (SME→startup) for one engine setting, averaged over seeds."""
    runs = []
    for seed in range(seeds):
        engine = MatchEngine(**params, random_state=seed).fit([*smes, *startups])
        rows, cols, scores = engine.score_matrix("sme")
        values = []
        for i, ref in enumerate(rows):
            grades = [int(qrels.get(ref, {}).get(c, 0)) for c in cols]
            ranked = [grades[j] for j in rank_by_score(scores[i])]
            values.append(ndcg_at_k(ranked, grades, 5))
        runs.append(values)
    return np.mean(runs, axis=0)


def choose_left_out(per_item: dict, groups: np.ndarray) -> tuple[np.ndarray, dict]:
    """Leave one group out: choose on the other groups, score on the left-out one.

    ``per_item`` maps each candidate (an engine setting, a signal and weight ...) to its values
    per item (an SME's nDCG@5, or a set's mean), aligned with ``groups`` (the set or sector
    family of each item).  For every group the candidate with the best mean over the items of
    all other groups is chosen and its values on the group's items are kept.  Returns the kept
    values per item and the choice per group.
    """
    groups = np.asarray(groups)
    kept = np.zeros(len(groups))
    picks = {}
    for group in dict.fromkeys(groups.tolist()):
        held = groups == group
        best = max(per_item, key=lambda c: per_item[c][~held].mean())
        kept[held] = per_item[best][held]
        picks[group] = best
    return kept, picks


def cross_validate(seeds: int = 1) -> dict:
    """Choose a setting of ``CV_GRID`` on part of the real dev pool, score it on the rest.

    Two splits: leave one set out (choose on all real dev sets but one, score on that one: other
    collectors, other sources) and leave one sector family out (over the SMEs of all real dev
    sets).  Fits are unsupervised, so every setting is fitted once per set (once per seed of
    the latent block, each SME's nDCG averaged over the seeds); labels of the left-out part are
    used only to score the chosen setting.  A small gap between ``cv`` and the in-sample score
    of the defaults means the choices made on labelled data generalise.
    """
    data = {name: load_labelled(QUALITY_SETS[name]) for name in REAL_DEV_SETS}
    per_sme = {
        setting: np.concatenate(
            [_per_sme_ndcg(_for_set(params, name), *data[name], seeds) for name in REAL_DEV_SETS]
        )
        for setting, params in CV_GRID.items()
    }
    set_of = np.concatenate([[name] * len(data[name][0]) for name in REAL_DEV_SETS])
    family = np.array([sector_family(p.sector) for name in REAL_DEV_SETS for p in data[name][0]])
    out = {"in_sample": {n: float(v.mean()) for n, v in per_sme.items()}, "seeds": seeds}
    for split, groups in (("set", set_of), ("sector", family)):
        cv, picks = choose_left_out(per_sme, groups)
        out[split] = {
            "cv": float(cv.mean()),
            "picks": {
                g: (int((groups == g).sum()), best, float(cv[groups == g].mean()))
                for g, best in picks.items()
            },
        }
    out["defaults_by_set"] = {
        name: float(per_sme["defaults"][set_of == name].mean()) for name in REAL_DEV_SETS
    }
    return out


def render_cv(cv: dict) -> list[str]:
    best = max(cv["in_sample"], key=cv["in_sample"].get)
    by_set, by_sector = cv["set"], cv["sector"]
    chosen = sorted({p[1] for split in (by_set, by_sector) for p in split["picks"].values()})
    lines = [
        "### Cross-validation on the real dev pool (SME→startup nDCG@5)",
        "",
        f"The choice among {len(cv['in_sample'])} settings (the defaults and one weight changed "
        f"at a time) is made on part of the {len(REAL_DEV_SETS)} real dev sets and scored on the "
        f"rest: leave one set out ({len(by_set['picks'])} folds), and leave one sector family "
        f"out ({len(by_sector['picks'])} folds)"
        + (
            f"; every figure is the mean over {cv['seeds']} seeds of the latent block."
            if cv.get("seeds", 1) > 1
            else "."
        ),
        "",
        "| measure | nDCG@5 |",
        "|---|---|",
        f"| defaults, in sample (pool) | {cv['in_sample']['defaults']:.3f} |",
        f"| best setting in sample ({best}) | {cv['in_sample'][best]:.3f} |",
        f"| leave one set out (pool) | {by_set['cv']:.3f} |",
        f"| leave one sector family out (pool) | {by_sector['cv']:.3f} |",
        "",
        "| left-out set | SMEs | chosen on the other sets | its nDCG@5 | defaults |",
        "|---|---|---|---|---|",
    ]
    for name, (n, pick, value) in by_set["picks"].items():
        lines.append(f"| {name} | {n} | {pick} | {value:.3f} | {cv['defaults_by_set'][name]:.3f} |")
    lines += ["", "Settings chosen across the folds: " + ", ".join(chosen) + ".", ""]
    return lines


def machine_info() -> str:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        m = re.search(r"Model name:\s*(.+)", lscpu)
        model = m.group(1).strip() if m else ""
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return (
        f"nproc {nproc}, CPU {model or platform.processor()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}"
    )


def render(speed: dict, quality: dict, cv: dict) -> str:
    s = speed
    lines = [
        SECTION,
        "",
        f"Recorded by `bench/bench_matching.py` on {time.strftime('%Y-%m-%d')}; {machine_info()}.",
        f"The machine is shared with other jobs (1-min load average {os.getloadavg()[0]:.1f} on "
        f"2 cores at the end of the run); the plain TF-IDF line shows how much this inflates "
        "timings.",
        "",
        "### Quality: what each part adds (nDCG@5 / MRR)",
        "",
        "Sets: `tests/data/matching-dev.json` (dev, written here), "
        "`bench/data/matching-heldout.json` (written here, looked at during changes: regression "
        f"only), {len(REAL_DEV_SETS)} real-text dev sets (`bench/data/matching-real-dev.json` and "
        "the retired held-out sets, `matching-real-heldout{,2,...}.json`: real public texts, "
        'labelled blind; pooled as "real dev (all)", the mean over their SMEs)'
        + (
            ", the blind sets of `REAL_HELDOUT_FILES` (real texts, for reporting only: scored "
            "once with `--final`)."
            if any("real held-out" in v for v in quality.values())
            else "."
        )
        + " Reverse direction: rank all SMEs per startup with transposed qrels, averaged over "
        "the startups with at least one SME of grade >= 2.",
        "",
    ]
    set_names = list(next(iter(quality.values())))
    head = " | ".join(f"{n} SME→startup | {n} startup→SME" for n in set_names)
    lines += [f"| setting | {head} |", "|---" * (1 + 2 * len(set_names)) + "|"]
    for name, by_set in quality.items():
        cells = [
            f"{by_set[n][d]['ndcg@5']:.3f} / {by_set[n][d]['mrr']:.3f}"
            for n in set_names
            for d in ("sme", "startup")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        'Each "without" row leaves one part out of the full engine; "without sector concepts '
        'and LSA" is close to the engine before issue 12 (its thesaurus and blocks, with the '
        "new reasons and stop-word rules). The sector concepts (and the everyday-work groups "
        "after them) were written from general knowledge of each trade; the real dev sets were "
        "used to measure and to find which trades needed deeper coverage, never as a source of "
        "terms. Thesaurus terms whose stems meet everyday words of the other language or of "
        "the same one (German Lage, fertig, natürlich, messen, Branche; English book/booking, "
        "product/production, lead/leading, access, model) were dropped or narrowed to "
        "phrases. The real held-out sets 17 to 20 are scored only with `--final`, once at the end "
        "of a change.",
        "",
        *render_cv(cv),
        f"### Speed ({s['n_smes']:,} SMEs + {s['n_startups']:,} startups, synthetic)",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| fit | {s['fit_s']:.2f} s | |",
        f"| top-10 both directions | {s['topk_both_s']:.2f} s | |",
        f"| fit + top-10 both directions, with reasons and levels | {s['total_s']:.2f} s "
        "| <= 4 s |",
        f"| CPU time of fit + top-10 (all threads) | {s['total_cpu_s']:.2f} s | |",
        f"| 1-min load average at start / end of the speed run | {s['load_start']:.1f} / "
        f"{s['load_end']:.1f} | |",
        f"| peak RSS (whole process) | {s['peak_rss_mib']:.0f} MiB | <= 1024 MiB |",
        f"| suggest() p50 / p95 (500 profiles, k=10, with reasons) | "
        f"{s['suggest_p50_ms']:.1f} / {s['suggest_p95_ms']:.1f} ms | p95 <= 20 ms |",
        f"| suggest() with reasons for 1,000 SMEs (10,000 pairs) | {s['suggest_1000_s']:.2f} s | |",
        f"| plain word TF-IDF fit + same top-10 both directions | {s['plain_tfidf_s']:.2f} s | "
        "reference |",
        f"| ratio engine / plain TF-IDF | {s['total_s'] / s['plain_tfidf_s']:.1f}x | |",
        f"| features / non-zeros per profile | {s['n_features']:,} / "
        f"{s['nnz_per_profile']:.0f} | |",
        "",
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smes", type=int, default=10_000)
    parser.add_argument("--startups", type=int, default=2_000)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--final",
        action="store_true",
        help="also score the blind sets of REAL_HELDOUT_FILES (reporting only, once per change)",
    )
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument(
        "--dev-only",
        action="store_true",
        help="score quality only on the development sets (no held-out file is read)",
    )
    parser.add_argument(
        "--cv-only",
        action="store_true",
        help="only the cross-validation (leave one set / sector out)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="average the engine's quality over this many seeds of its latent block",
    )
    args = parser.parse_args()
    if args.cv_only:
        print("\n".join(render_cv(cross_validate(args.seeds))))
        return
    if args.quality_only:
        for name, by_set in bench_quality(args.final, args.seeds, args.dev_only).items():
            print(name)
            for set_name, by_dir in by_set.items():
                print(f"  {set_name:24}", {d: round(m["ndcg@5"], 3) for d, m in by_dir.items()})
        return
    speed = bench_speed(args.smes, args.startups)
    for key, value in speed.items():
        print(f"{key:>18}: {value:.3f}" if isinstance(value, float) else f"{key:>18}: {value}")
    quality = bench_quality(args.final, args.seeds, args.dev_only)
    for name, by_set in quality.items():
        ndcg = {n: {d: round(m["ndcg@5"], 3) for d, m in bd.items()} for n, bd in by_set.items()}
        print(name, ndcg)
    cv = cross_validate(args.seeds)
    section = render(speed, quality, cv)
    if args.no_write:
        print(section)  # the figures of the whole run, for adding to bench/RESULTS.md by hand
    else:
        write_section(section)
        print(f"updated {RESULTS}")


if __name__ == "__main__":
    main()
