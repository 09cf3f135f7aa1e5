"""Generated test corpora full of what tokenizers get wrong: Unicode letters
and marks, numbers that are not digits, punctuation, underscores, apostrophes,
case that changes length, and empty documents."""

import random

PIECES = [
    # accents, precomposed and combining
    "café", "cafe\u0301", "naïve", "Ölçü", "ÉCOLE", "l'été", "São Paulo", "Zürich",
    # Greek with final sigma, Cyrillic
    "ΟΔΟΣ", "λόγος", "Σίσυφος", "ΣΑΣ", "Москва", "ёлка",
    # CJK, kana, Hangul
    "中文字", "日本語", "カタカナ", "한국어", "中",
    # superscripts, subscripts, fractions, Roman numerals, other digits
    "x²", "E=mc²", "H₂O", "½", "¾cup", "Ⅻ", "ⅷ", "٣٤٥", "१२३", "①②",
    # digits, underscores, apostrophes, hyphens
    "2024", "3.14159", "1,000,000", "snake_case", "__init__", "_x", "don't", "rock'n'roll",
    "e-mail", "state-of-the-art", "O'Brien",
    # case mapping oddities
    "İstanbul", "Straße", "ǅemal", "ǈ", "ﬁne", "ＡＢＣ", "ＤＥＦ１２",
    # punctuation, symbols, emoji, URLs
    "hello,world", "(paren)", "[x]", "a.b.c", "...", "!!!", "#tag", "@user", "😀smile", "✓ok",
    "http://example.org/path?q=1", "me@example.com", "tab\tsep", "new\nline", "‿undertie‿",
    # plain words, some stop words, repeated terms
    "the", "and", "of", "machine", "learning", "saga", "gradient", "descent", "text", "corpus",
    "The", "AND", "Machine", "LEARNING", "Saga", "a", "I", "x",
]


def make_docs(n, seed=0, empty_every=11):
    """`n` documents mixing PIECES with random Latin words; every `empty_every`-th is empty
    or blank."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 6))) for _ in range(300)]
    docs = []
    for i in range(n):
        if empty_every and i % empty_every == 0:
            docs.append(rng.choice(["", " ", "\n\t", "?!", "a b c"]))
            continue
        k = rng.randint(1, 40)
        parts = [rng.choice(PIECES) if rng.random() < 0.4 else rng.choice(words) for _ in range(k)]
        seps = [rng.choice([" ", " ", " ", ", ", ". ", "\n", "-", "/"]) for _ in range(k)]
        docs.append("".join(p + s for p, s in zip(parts, seps)).strip())
    return docs


def make_labels(n, classes=3, seed=0):
    rng = random.Random(seed + 1)
    return [rng.randrange(classes) for _ in range(n)]
