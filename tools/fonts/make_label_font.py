"""Builds the font subset the visible label ships with: Noto Sans CJK SC Bold (SIL Open Font
License 1.1, from Debian's fonts-noto-cjk), cut down to printable ASCII, a few punctuation marks
and the Chinese characters of the common AI-content label phrases.

  apt-get install fonts-noto-cjk && pip install fonttools==4.60.1
  python3 tools/fonts/make_label_font.py
"""
import os
from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "MoviolaMedia", "Fonts", "MoviolaLabel-NotoSansSC-Bold.otf")
PHRASES = ["AI生成", "人工智能生成", "人工智能生成合成内容", "本内容由人工智能生成", "由AI生成", "深度合成", "合成内容",
           "AI生成内容", "本视频由AI生成", "视频", "标识", "（）：；，。、·“”"]


def main():
    collection = TTCollection(SOURCE)
    font = next(f for f in collection.fonts if "SC" in f["name"].getDebugName(1))
    text = "".join(chr(c) for c in range(0x20, 0x7F)) + "·•—–" + "".join(PHRASES)
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.save(OUT)
    print(f"{OUT}: {os.path.getsize(OUT)} bytes, {len(set(text))} characters")


if __name__ == "__main__":
    main()
