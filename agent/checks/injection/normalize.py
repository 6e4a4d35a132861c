"""Views of a text for injection detection: folded, de-obfuscated and decoded variants.

Attackers hide instructions from simple pattern matching with full-width or look-alike letters,
zero-width characters, spaced-out letters, leetspeak, misspelt or scrambled key words
(:mod:`agent.checks.injection.spelling`), and encodings (base64, hex, URL
encoding, rot13, reversed text). The detector scans every view; a hit in a decoded view counts
as an encoded injection. Views exist only for detection — the text passed on is never changed
by this module.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

from agent.checks.injection.spelling import respell

# Cyrillic and Greek letters that look like Latin ones.
_CONFUSABLES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеіјорсхуѕԁɡνοαΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "ABESIJKMHOPCTXYaeijopcxysdgvoaABEZHIKMNOPTYX",
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
# Words mixing letters and digits; ids such as A1000008 (one letter) are left alone.
_LEET_WORD = re.compile(r"\b(?=(?:\S*[A-Za-z]){2})(?=\S*[0-9@$!])[A-Za-z0-9@$!]{3,}\b")
_SPACED = tuple(re.compile(rf"\b(?:\w{re.escape(sep)}){{3,}}\w\b") for sep in (" ", ".", "-", "_", "*"))
_HYPHENATED = re.compile(r"(?<=[A-Za-z])-(?=[a-z])")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}){8,}\b")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class View:
    """One variant of a text: ``how`` it was made and the resulting ``text``."""

    how: str
    text: str

    @property
    def decoded(self) -> bool:
        """Made by decoding (the original did not say it in plain words)."""
        return self.how in {"base64", "hex", "url", "rot13", "reversed"}


def fold(text: str) -> str:
    """NFKC (full-width → ASCII), format characters (zero-width) removed, look-alikes mapped."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.translate(_CONFUSABLES)


def _despace(text: str) -> str:
    """``I g n o r e`` → ``Ignore``; ``i.g.n.o.r.e`` → ``ignore``; ``Ig-nore`` → ``Ignore``."""
    for pattern in _SPACED:
        text = pattern.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group()), text)
    return _HYPHENATED.sub("", text)


def _printable(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not decoded:
        return None
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in decoded) / len(decoded)
    letters = sum(ch.isalpha() or ch.isspace() for ch in decoded) / len(decoded)
    return decoded if printable >= 0.95 and letters >= 0.5 else None


def _decode_base64(token: str) -> str | None:
    padded = token + "=" * (-len(token) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            text = _printable(decode(padded))
        except (binascii.Error, ValueError):
            continue
        if text is not None and " " in text:
            return text
    return None


# Frequent English words: a line with almost none of them may be rot13 or reversed text.
_COMMON = frozenset(
    (
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "in",
        "on",
        "for",
        "is",
        "are",
        "was",
        "be",
        "it",
        "this",
        "that",
        "with",
        "you",
        "your",
        "my",
        "i",
        "we",
        "our",
        "at",
        "by",
        "from",
        "as",
        "not",
        "please",
        "order",
        "can",
        "will",
        "have",
        "has",
        "do",
        "if",
        "me",
        "all",
        "any",
        "new",
        "now",
    )
)
_SHORT = 400  # texts up to this length get every decoding view in full


def _gibberish(text: str) -> str:
    """The lines of ``text`` that are mostly not English words (candidates for rot13 or reversal)."""
    if len(text) <= _SHORT:
        return text
    lines = []
    for line in text.splitlines():
        words = re.findall(r"[A-Za-z]+", line.lower())
        if len(words) >= 4 and sum(w in _COMMON for w in words) / len(words) < 0.1:
            lines.append(line)
    return "\n".join(lines)


def _changed_lines(before: str, after: str) -> str:
    """The lines of ``after`` that differ from ``before`` (line counts match), or all of it."""
    old, new = before.splitlines(), after.splitlines()
    if len(old) != len(new) or len(after) <= _SHORT:
        return after
    return "\n".join(n for o, n in zip(old, new, strict=True) if o != n)


def _decoded(text: str) -> list[View]:
    views = []
    chunks = [d for d in (_decode_base64(m.group()) for m in _BASE64.finditer(text)) if d]
    if chunks:
        views.append(View("base64", " ".join(chunks)))
    hexed = [_printable(bytes.fromhex(m.group())) for m in _HEX.finditer(text)]
    if any(hexed):
        views.append(View("hex", " ".join(h for h in hexed if h)))
    if len(_PERCENT.findall(text)) >= 3:
        views.append(View("url", urllib.parse.unquote(text)))
    odd = _gibberish(text)
    if odd:
        views.append(View("rot13", codecs.encode(odd, "rot13")))
        views.append(View("reversed", odd[::-1]))
    return views


def views(text: str) -> list[View]:
    """The original text, its folded and de-obfuscated forms, and decodings of encoded parts."""
    folded = fold(text)
    out = [View("original", text)]
    if folded != text:
        out.append(View("folded", _changed_lines(text, folded)))
    despaced = _despace(folded)
    if despaced != folded:
        out.append(View("despaced", _changed_lines(folded, despaced)))
    plain = despaced
    if _LEET_WORD.search(folded):
        plain = _LEET_WORD.sub(lambda m: m.group().translate(_LEET), despaced)
        out.append(View("leet", _changed_lines(despaced, plain)))
    respelled = respell(plain)
    if respelled != plain:
        out.append(View("respelled", _changed_lines(plain, respelled)))
    out += _decoded(folded)
    return [v for v in out if v.text]
