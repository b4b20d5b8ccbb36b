"""Builds the character tables the prompt normaliser reads (Sources/MoviolaSafety/Resources/):

- t2s.tsv         Traditional → Simplified Chinese, character by character (OpenCC's TSCharacters, Apache-2.0)
- pinyin.tsv      CJK character → its most common reading, with tone number and without (pypinyin's
                  pinyin-data, MIT)
- confusables.tsv character → the ASCII letters or digits it is confusable with (Unicode's confusables.txt
                  via confusable-homoglyphs, Unicode licence), for UTS #39-style skeletons

    python3 -m pip install -r tools/safety/requirements.txt && python3 tools/safety/make_tables.py"""
import json
import os
import unicodedata

import confusable_homoglyphs
import opencc
from pypinyin import Style, lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Sources", "MoviolaSafety", "Resources")


def t2s():
    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
    rows = []
    for line in open(path, encoding="utf-8"):
        source, targets = line.rstrip("\n").split("\t")
        target = targets.split(" ")[0]
        if len(source) == 1 and len(target) == 1 and source != target:
            rows.append(f"{source}\t{target}")
    return rows


def pinyin():
    rows = []
    for code in sorted(pinyin_dict):
        if not (0x3400 <= code <= 0x9FFF):
            continue
        char = chr(code)
        tone = lazy_pinyin(char, style=Style.TONE3, neutral_tone_with_five=True)[0]
        plain = lazy_pinyin(char, style=Style.NORMAL)[0]
        if tone and plain and plain.isascii() and plain.isalpha():
            rows.append(f"{char}\t{plain}\t{tone}")
    return rows


# Look-alikes used in evasions that Unicode's table maps elsewhere (κ → ĸ) or not at all (Greek and
# Cyrillic lower-case letters that read as Latin ones).
EXTRA_LOOKALIKES = {
    "κ": "k", "ĸ": "k", "к": "k", "ν": "v", "ρ": "p", "τ": "t", "ι": "i", "ο": "o", "α": "a", "ε": "e", "υ": "u",
    "ω": "w", "χ": "x", "м": "m", "т": "t", "в": "b", "н": "h", "п": "n", "г": "r", "д": "d", "л": "n", "ш": "w",
    "ч": "y", "я": "r", "ь": "b", "ɡ": "g", "ɑ": "a", "ǝ": "e", "ı": "i", "ȷ": "j",
}


def confusables():
    data = json.load(open(os.path.join(os.path.dirname(confusable_homoglyphs.__file__), "confusables.json"), encoding="utf-8"))
    mapping = {}
    for target, entries in data.items():
        if not (len(target) == 1 and target.isascii() and target.isalnum()):
            continue
        for entry in entries:
            char = entry["c"]
            if len(char) != 1 or char.isascii():
                continue
            # NFKC already folds compatibility forms (full-width, mathematical letters); keep the rest.
            if unicodedata.normalize("NFKC", char).lower() == target.lower():
                continue
            mapping.setdefault(char, target.lower())
    for char, target in EXTRA_LOOKALIKES.items():
        mapping.setdefault(char, target)
    return [f"{c}\t{t}" for c, t in sorted(mapping.items())]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, rows in (("t2s.tsv", t2s()), ("pinyin.tsv", pinyin()), ("confusables.tsv", confusables())):
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
