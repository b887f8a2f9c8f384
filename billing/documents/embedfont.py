"""The Unicode fonts the customer documents embed (``fonts/``, see its README): DejaVu Sans and Sans
Bold for Latin, Greek, Cyrillic and most symbols, Droid Sans Fallback for Chinese, Japanese and Korean.

A document embeds, per font it uses, a TrueType subset holding only the glyphs it draws. A
character's code in the content stream is its glyph number in the full font, whatever else the
document draws, and the font's CIDToGIDMap stream maps it to the subset's glyph: encoding and
measuring text is cached per process, and only the font objects depend on the document's glyph set. It is assembled from the font's own table bytes
(fontTools reads the font once per process; the glyph data is copied as it is, composite glyphs with
their components), which takes a fraction of a millisecond where running the fontTools subsetter on
each glyph set takes tens of milliseconds. The bytes depend only on the glyph set (no clock, no random
subset tag: :func:`subset_tag` is a hash of the glyphs), so the same document always gives the same
bytes.

Text is drawn character by character, left to right, one glyph per character, without shaping: the
characters of scripts that need shaping or right-to-left ordering (Arabic, Hebrew, the Indic scripts,
Thai, ...) and lone combining marks are treated as missing (:func:`glyph` returns ``None``), like a
character none of the fonts has — the documents print "?" for them and the invoice page warns.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import sys
import unicodedata
from array import array
from pathlib import Path

from fontTools.ttLib import TTFont

FONT_DIR = Path(__file__).with_name("fonts")

# PDF font resource name -> the vendored file.
FILES = {"R": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "C": "DroidSansFallback.ttf"}
# The fonts tried in turn for a character of text drawn in each style (regular, bold).
CHAINS = {"R": ("R", "B", "C"), "B": ("B", "R", "C")}
# Fonts without a bold face: their glyphs in bold text are emboldened by the writer (outlined too).
NO_BOLD = frozenset({"C"})
# Characters whose glyphs every document embeds in the font, drawn or not: printable ASCII in the DejaVu
# fonts. The glyph sets of documents in English then coincide, and the writer's memory of a glyph
# set's font objects spares building them again (a subset of ~100 glyphs costs about 3 KB more per
# font than one of the ~50 a short invoice draws, where building it costs over a millisecond).
BASE = {"R": range(0x20, 0x7F), "B": range(0x20, 0x7F), "C": range(0)}
ORDER = ("R", "B", "C")  # the order of the fonts in a document

# The tables a TrueType font program embedded in a PDF needs (PDF 32000-1 §9.9: no 'cmap' when the
# font is a CIDFont's, the glyphs being selected by number). The hinting tables ('cvt ', 'fpgm',
# 'prep') are left out with the glyphs' instructions (see Font.outline).
_TABLES = ("glyf", "head", "hhea", "hmtx", "loca", "maxp")

# Blocks of scripts drawn wrongly without shaping or bidirectional reordering (besides the
# right-to-left characters and combining marks found by their Unicode properties).
_COMPLEX = (
    (0x0590, 0x08FF),  # Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, Arabic extended
    (0x0900, 0x0DFF),  # Devanagari ... Sinhala
    (0x0E00, 0x0FFF),  # Thai, Lao, Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo (conjoining)
    (0x1780, 0x18AF),  # Khmer, Mongolian
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xD7B0, 0xD7FF),  # Hangul Jamo extended B
    (0xFB1D, 0xFDFF),  # Hebrew and Arabic presentation forms
    (0xFE70, 0xFEFF),  # Arabic presentation forms B
)


def _drawable_alone(char: str) -> bool:
    """Whether the character can be drawn on its own, left to right, as its font's glyph."""
    code = ord(char)
    if unicodedata.bidirectional(char) in ("R", "AL") or unicodedata.category(char) in ("Mn", "Mc", "Me"):
        return False
    return not any(low <= code <= high for low, high in _COMPLEX)


def _points_end(data: bytes, at: int, points: int) -> int:
    """Where a simple glyph's point data ends (its flags start at ``at``), the padding after it aside."""
    count = xs = ys = 0
    while count < points:
        flags = data[at]
        at += 1
        repeat = 1
        if flags & 0x08:
            repeat += data[at]
            at += 1
        xs += repeat * (1 if flags & 0x02 else 0 if flags & 0x10 else 2)
        ys += repeat * (1 if flags & 0x04 else 0 if flags & 0x20 else 2)
        count += repeat
    return at + xs + ys


def _checksum(data: bytes) -> int:
    """The TrueType checksum: the sum of the big-endian 32-bit words (``data`` padded to 4 bytes)."""
    words = array("I", data)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    """A TrueType font file of ``tables``, with the table checksums and head's checkSumAdjustment."""
    tags = sorted(tables)
    count = len(tags)
    selector = count.bit_length() - 1
    search = 16 << selector
    out = bytearray(struct.pack(">IHHHH", 0x00010000, count, search, selector, count * 16 - search))
    offset = 12 + 16 * count
    bodies, head_at = [], 0
    for tag in tags:
        data = tables[tag]
        padded = data + bytes(-len(data) % 4)
        if tag == "head":
            head_at = offset
        out += struct.pack(">4sIII", tag.encode("latin-1"), _checksum(padded), offset, len(data))
        bodies.append(padded)
        offset += len(padded)
    for body in bodies:
        out += body
    out[head_at + 8 : head_at + 12] = struct.pack(">I", (0xB1B0AFBA - _checksum(out)) & 0xFFFFFFFF)
    return bytes(out)


class Font:
    """One vendored font, read once: its character map, metrics and raw glyph data."""

    def __init__(self, key: str) -> None:
        self.key = key
        with TTFont(FONT_DIR / FILES[key], lazy=True) as tt:
            self.name = tt["name"].getDebugName(6) or Path(FILES[key]).stem
            order = tt.getReverseGlyphMap()
            self.cmap: dict[int, int] = {
                code: order[name] for code, name in tt.getBestCmap().items() if order[name]
            }
            raw = {tag: bytes(tt.reader[tag]) for tag in (*_TABLES, "OS/2") if tag in tt.reader}
        head, hhea, maxp = raw["head"], raw["hhea"], raw["maxp"]
        self.upem = struct.unpack_from(">H", head, 18)[0]
        bbox = struct.unpack_from(">4h", head, 36)
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        count = struct.unpack_from(">H", maxp, 4)[0]
        metrics = struct.unpack_from(">H", hhea, 34)[0]
        ascent, descent = struct.unpack_from(">hh", hhea, 4)
        loca = array("I" if long_loca else "H", raw["loca"][: (count + 1) * (4 if long_loca else 2)])
        if sys.byteorder == "little":
            loca.byteswap()
        self.offsets = list(loca) if long_loca else [2 * o for o in loca]
        hmtx = raw["hmtx"]
        pairs = [struct.unpack_from(">Hh", hmtx, 4 * i) for i in range(metrics)]
        last = pairs[-1][0]
        tail = struct.unpack_from(f">{count - metrics}h", hmtx, 4 * metrics) if count > metrics else ()
        self.advance = [a for a, _ in pairs] + [last] * len(tail)
        self.lsb = [b for _, b in pairs] + list(tail)
        self.raw = raw
        self.glyf = raw["glyf"]
        self.base = frozenset(self.cmap[code] for code in BASE[key] if code in self.cmap)
        self._outlines: dict[int, bytes] = {}
        # Widths in 1/1000 em, as the PDF's /W array gives them and the layout measures text.
        self.widths = [round(a * 1000 / self.upem) for a in self.advance]
        scale = 1000 / self.upem
        os2 = raw.get("OS/2", b"")
        weight = struct.unpack_from(">H", os2, 4)[0] if len(os2) >= 6 else 400
        if len(os2) >= 90:  # OS/2 version 2 and later
            cap = struct.unpack_from(">h", os2, 88)[0]
        else:  # the top of the H
            gid = self.cmap.get(ord("H"), 0)
            cap = struct.unpack_from(">h", self.glyf, self.offsets[gid] + 8)[0] if gid else ascent
        self.descriptor = (
            f"/Flags 4 /FontBBox [{' '.join(str(round(v * scale)) for v in bbox)}] /ItalicAngle 0 "
            f"/Ascent {round(ascent * scale)} /Descent {round(descent * scale)} "
            f"/CapHeight {round(cap * scale)} /StemV {50 + round((weight / 65) ** 2)}"
        )

    def glyph_data(self, gid: int) -> bytes:
        return self.glyf[self.offsets[gid] : self.offsets[gid + 1]]

    def _composite(self, data: bytes) -> tuple[list[int], list[int], int]:
        """A composite glyph's components, where each one's flags are, and where they end."""
        found, flag_at, at = [], [], 10
        while True:
            flags, component = struct.unpack_from(">HH", data, at)
            found.append(component)
            flag_at.append(at)
            at += 4 + (4 if flags & 0x0001 else 2)
            at += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0
            if not flags & 0x0020:
                return found, flag_at, at

    def components(self, gid: int) -> list[int]:
        """The glyphs a composite glyph is made of (none for a simple one)."""
        data = self.glyph_data(gid)
        if len(data) < 10 or struct.unpack_from(">h", data, 0)[0] >= 0:
            return []
        return self._composite(data)[0]

    def outline(self, gid: int) -> bytes:
        """The glyph's data without its hinting instructions (viewers draw PDF text unhinted as a rule, and
        they are about half of DejaVu's glyph data): the contours, or the components, as they are."""
        found = self._outlines.get(gid)
        if found is not None:
            return found
        data = self.glyph_data(gid)
        if len(data) >= 10:
            contours = struct.unpack_from(">h", data, 0)[0]
            if contours > 0:
                at = 10 + 2 * contours
                points = struct.unpack_from(">H", data, at - 2)[0] + 1
                length = struct.unpack_from(">H", data, at)[0]
                start = at + 2 + length
                data = data[:at] + b"\0\0" + data[start : _points_end(data, start, points)]
            else:
                _, flag_at, end = self._composite(data)
                out = bytearray(data[:end])
                for at in flag_at:  # WE_HAVE_INSTRUCTIONS off: the instructions after the end go
                    out[at] &= ~0x01
                data = bytes(out)
        self._outlines[gid] = data
        return data

    @functools.cached_property
    def unicode(self) -> dict[int, str]:
        """For each mapped glyph, the character text extraction reads for it: of the characters the
        font draws with that glyph, one that is its own compatibility form (a space rather than a
        no-break space, 一 rather than the Kangxi radical ⼀), then the lowest."""
        out: dict[int, tuple[bool, int]] = {}
        for code, gid in self.cmap.items():
            char = chr(code)
            rank = (unicodedata.normalize("NFKC", char) != char, code)
            if gid not in out or rank < out[gid]:
                out[gid] = rank
        return {gid: chr(code) for gid, (_, code) in out.items()}

    def subset(self, gids) -> tuple[bytes, bytes]:
        """A TrueType font of these glyphs, their components and .notdef, numbered 0, 1, 2, ... in
        the font's order, and the CIDToGIDMap from the font's own glyph numbers (the codes the
        content streams use) to the subset's: two bytes per code up to the highest one drawn."""
        keep = {0, *gids}
        todo = list(keep)
        while todo:
            for component in self.components(todo.pop()):
                if component not in keep:
                    keep.add(component)
                    todo.append(component)
        ordered = sorted(keep)
        number = {gid: index for index, gid in enumerate(ordered)}
        count = len(ordered)
        loca = array("I", [0])
        hmtx = array("H")
        parts, offset = [], 0
        for gid in ordered:
            data = self.outline(gid)
            if len(data) >= 10 and struct.unpack_from(">h", data, 0)[0] < 0:  # renumber the parts
                data = bytearray(data)
                for at in self._composite(data)[1]:
                    data[at + 2 : at + 4] = struct.pack(
                        ">H", number[struct.unpack_from(">H", data, at + 2)[0]]
                    )
                data = bytes(data)
            data += bytes(-len(data) % 4)
            parts.append(data)
            offset += len(data)
            loca.append(offset)
            hmtx.append(self.advance[gid])
            hmtx.append(self.lsb[gid] & 0xFFFF)
        top = max(gids, default=0)
        cid_to_gid = array("H", bytes(2 * (top + 1)))
        for gid in gids:
            cid_to_gid[gid] = number[gid]
        if sys.byteorder == "little":
            loca.byteswap()
            hmtx.byteswap()
            cid_to_gid.byteswap()
        head = bytearray(self.raw["head"])
        head[8:12] = bytes(4)  # checkSumAdjustment, set over the whole font
        head[50:52] = struct.pack(">h", 1)  # long loca offsets
        hhea = bytearray(self.raw["hhea"])
        hhea[34:36] = struct.pack(">H", count)
        maxp = bytearray(self.raw["maxp"])
        maxp[4:6] = struct.pack(">H", count)
        tables = dict(
            glyf=b"".join(parts),
            head=bytes(head),
            hhea=bytes(hhea),
            hmtx=hmtx.tobytes(),
            loca=loca.tobytes(),
            maxp=bytes(maxp),
        )
        return _sfnt(tables), cid_to_gid.tobytes()


@functools.cache
def font(key: str) -> Font:
    """The font of a resource name, read the first time a document needs it (the CJK font only when
    a document has a character the DejaVu fonts lack)."""
    return Font(key)


_glyphs: dict[tuple[str, str], tuple[str, int, int] | None] = {}


def glyph(style: str, char: str) -> tuple[str, int, int] | None:
    """How a character of text in ``style`` ("R" or "B") is drawn: (font resource name, glyph number,
    width in 1/1000 em), from the first font of the style's chain that has it; None when none has it
    or its script needs shaping."""
    key = (style, char)
    try:
        return _glyphs[key]
    except KeyError:
        pass
    found = None
    if _drawable_alone(char):
        code = ord(char)
        for name in CHAINS[style]:
            each = font(name)
            gid = each.cmap.get(code)
            if gid:
                found = (name, gid, each.widths[gid])
                break
    _glyphs[key] = found
    return found


def printable(char: str) -> bool:
    """Whether the documents can show ``char`` (in regular text; the bold chain has the same fonts)."""
    return glyph("R", char) is not None


def subset_tag(name: str, gids) -> str:
    """The six capital letters before a subset font's name: a hash of the font and its glyphs, so the
    same glyph set always gets the same tag (and different ones, almost always, different tags)."""
    digest = hashlib.sha256(f"{name}:{','.join(map(str, sorted(gids)))}".encode()).digest()
    return "".join(chr(65 + byte % 26) for byte in digest[:6])
