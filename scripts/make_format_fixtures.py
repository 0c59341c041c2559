#!/usr/bin/env python3
"""Writes the PDF, DOCX, ODT and EPUB fixtures of fixtures/formats/ (committed; run this to
make them again, byte for byte: no timestamps). Standard library only.

    python3 scripts/make_format_fixtures.py [--out fixtures/formats] [--copies N --bulk DIR]

Each format in English, German and Chinese, with words the tests search for; PDFs have two
pages (the tests check the page of a hit) and use a Type 0 font with a ToUnicode map, as
PDFs of CJK text do; `scanned.pdf` has an image and no text layer. `--copies N --bulk DIR`
writes N files of each kind with varied text into DIR (the throughput measurement).
"""
import argparse
import os
import zipfile

TEXTS = {
    "en": {
        "pdf": [["The lighthouse keeper of Skerryvore recorded every storm in a leather logbook.",
                 "Waves broke over the lantern gallery during the winter gales."],
                ["The granite tower was finished in 1844 after six years of work on the reef.",
                 "Its builder later designed harbours along the western coast."]],
        "docx": ["The bakery on Mill Lane sells rye sourdough baked in a wood-fired oven.",
                 "Every morning at five the baker feeds the starter with flour and water."],
        "odt": ["The night train to Inverness leaves from platform four at nine minutes past eleven.",
                "Sleeping cabins have two berths, a washbasin and a window onto the moors."],
        "epub": [["Chapter one: the walled garden", "Espaliered pear trees line the southern wall of the kitchen garden."],
                 ["Chapter two: the glasshouse", "Under the glasshouse roof the gardener grows melons and vines."]],
    },
    "de": {
        "pdf": [["Der Leuchtturmwärter von Helgoland schrieb jeden Sturm in ein ledernes Logbuch.",
                 "Im Winter schlugen die Wellen bis an die Galerie der Laterne."],
                ["Die Brücke über die Elbe wurde nach sieben Jahren Bauzeit im Frühling eröffnet.",
                 "Ihre Pfeiler stehen auf Fundamenten aus Granit."]],
        "docx": ["Die Bäckerei in der Mühlenstraße verkauft Roggenbrot aus dem Holzofen.",
                 "Jeden Morgen um fünf Uhr füttert der Bäcker den Sauerteig mit Mehl und Wasser."],
        "odt": ["Der Nachtzug nach Wien fährt um dreiundzwanzig Uhr von Gleis vier ab.",
                "Die Schlafwagenabteile haben zwei Betten, ein Waschbecken und ein Fenster."],
        "epub": [["Erstes Kapitel: der ummauerte Garten", "Birnbäume am Spalier säumen die Südmauer des Küchengartens."],
                 ["Zweites Kapitel: das Gewächshaus", "Unter dem Glasdach zieht der Gärtner Melonen und Weinreben."]],
    },
    "zh": {
        "pdf": [["灯塔看守人把每一场风暴都记录在皮革日志里。", "冬天的大浪一直打到灯室的回廊上。"],
                ["这座花岗岩塔楼在礁石上施工六年后完工。", "它的建造者后来又设计了西海岸的许多港口。"]],
        "docx": ["磨坊街的面包店出售用柴火炉烤制的黑麦酸面包。", "面包师每天早上五点用面粉和水喂养酵头。"],
        "odt": ["开往哈尔滨的夜车晚上十一点从四号站台出发。", "卧铺车厢有两个铺位、一个洗手池和一扇窗户。"],
        "epub": [["第一章：围墙花园", "厨房花园的南墙边种着一排排梨树。"],
                 ["第二章：温室", "园丁在温室的玻璃屋顶下种植甜瓜和葡萄。"]],
    },
}
TITLES = {"en": "Fixture", "de": "Testdokument", "zh": "测试文档"}
DATE = (2026, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same bytes every run


# --- PDF --------------------------------------------------------------------------------

def pdf(pages, image_only=False):
    """A PDF whose pages show `pages` (lists of lines) in a Type 0 font (Identity-H) with a
    ToUnicode map, or, with `image_only`, one page with a grey image and no text."""
    chars = sorted({c for page in pages for line in page for c in line})
    cid = {c: i + 1 for i, c in enumerate(chars)}
    objects = []  # object bodies, numbered from 1

    def add(body):
        objects.append(body)
        return len(objects)

    catalog = add(None)
    pages_obj = add(None)
    cmap = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
            "1 begincodespacerange <0000> <FFFF> endcodespacerange"]
    for start in range(0, len(chars), 100):
        block = chars[start:start + 100]
        cmap.append(f"{len(block)} beginbfchar")
        for c in block:
            cmap.append(f"<{cid[c]:04X}> <{c.encode('utf-16-be').hex().upper()}>")
        cmap.append("endbfchar")
    cmap += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    to_unicode = add(stream("\n".join(cmap).encode()))
    descriptor = add(b"<< /Type /FontDescriptor /FontName /FixtureSans /Flags 4 /FontBBox [0 -200 1000 900] "
                     b"/ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>")
    descendant = add(b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /FixtureSans "
                     b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                     b"/FontDescriptor %d 0 R /DW 1000 /CIDToGIDMap /Identity >>" % descriptor)
    font = add(b"<< /Type /Font /Subtype /Type0 /BaseFont /FixtureSans /Encoding /Identity-H "
               b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (descendant, to_unicode))
    kids = []
    if image_only:
        image = add(stream(bytes([128]) * 64 * 64,
                           b"/Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 8"))
        content = add(stream(b"q 400 0 0 400 100 200 cm /Im1 Do Q"))
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                        b"/Resources << /XObject << /Im1 %d 0 R >> >> >>" % (pages_obj, content, image)))
    else:
        for page in pages:
            ops = [b"BT /F1 12 Tf 14 TL 72 720 Td"]
            for line in page:
                ops.append(b"<" + "".join(f"{cid[c]:04X}" for c in line).encode() + b"> Tj T* T*")
            ops.append(b"ET")
            content = add(stream(b"\n".join(ops)))
            kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_obj, content, font)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    return bytes(out)


def stream(data, extra=b""):
    return b"<< " + extra + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


# --- zip formats ----------------------------------------------------------------------

def write_zip(path, members):
    """`members`: (name, text or bytes, stored?) in order."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data, stored in members:
            info = zipfile.ZipInfo(name, DATE)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode() if isinstance(data, str) else data)


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def docx(path, title, paragraphs):
    body = "".join(f'<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:t xml:space="preserve">{esc(p)}</w:t></w:r></w:p>'
                   for p in paragraphs)
    write_zip(path, [
        ("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
         '<Default Extension="xml" ContentType="application/xml"/>'
         '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
         '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>', False),
        ("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
         '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>', False),
        ("word/document.xml", '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
         f"<w:body>{body}</w:body></w:document>", False),
        ("docProps/core.xml", '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
         f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{esc(title)}</dc:title></cp:coreProperties>', False),
    ])


def odt(path, title, paragraphs):
    body = f"<text:h text:outline-level=\"1\">{esc(title)}</text:h>" + "".join(f"<text:p>{esc(p)}</text:p>" for p in paragraphs)
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"')
    write_zip(path, [
        ("mimetype", "application/vnd.oasis.opendocument.text", True),
        ("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
         '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
         '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
         '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/></manifest:manifest>', False),
        ("content.xml", f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
         f"<office:body><office:text>{body}</office:text></office:body></office:document-content>", False),
        ("meta.xml", f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {ns} office:version="1.2">'
         f"<office:meta><dc:title>{esc(title)}</dc:title></office:meta></office:document-meta>", False),
    ])


def epub(path, title, lang, chapters):
    items = "".join(f'<item id="c{i}" href="text/ch{i}.xhtml" media-type="application/xhtml+xml"/>' for i in range(len(chapters)))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    members = [
        ("mimetype", "application/epub+zip", True),
        ("META-INF/container.xml", '<?xml version="1.0" encoding="UTF-8"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
         '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>', False),
        ("OEBPS/content.opf", '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
         f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">fixture-{lang}</dc:identifier><dc:title>{esc(title)}</dc:title>'
         f'<dc:language>{lang}</dc:language></metadata><manifest>{items}<item id="css" href="style.css" media-type="text/css"/></manifest>'
         f"<spine>{spine}</spine></package>", False),
        ("OEBPS/style.css", "p { margin: 0 }", False),
    ]
    for i, (heading, text) in enumerate(chapters):
        members.append((f"OEBPS/text/ch{i}.xhtml", f'<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{lang}">'
                        f"<head><title>{esc(heading)}</title><style>p {{ color: black }}</style></head>"
                        f"<body><h1>{esc(heading)}</h1><p>{esc(text)}</p></body></html>", False))
    write_zip(path, members)


def fixtures(out):
    os.makedirs(out, exist_ok=True)
    for lang, t in TEXTS.items():
        with open(os.path.join(out, f"lighthouse-{lang}.pdf"), "wb") as f:
            f.write(pdf(t["pdf"]))
        docx(os.path.join(out, f"bakery-{lang}.docx"), TITLES[lang], t["docx"])
        odt(os.path.join(out, f"train-{lang}.odt"), TITLES[lang], t["odt"])
        epub(os.path.join(out, f"garden-{lang}.epub"), TITLES[lang], lang, t["epub"])
    with open(os.path.join(out, "scanned.pdf"), "wb") as f:
        f.write(pdf([], image_only=True))


def bulk(out, copies):
    """`copies` files of each of PDF, DOCX and EPUB per language, with numbered text."""
    os.makedirs(out, exist_ok=True)
    for n in range(copies):
        for lang, t in TEXTS.items():
            tag = f" ({n})"
            pages = [[line + tag for line in page] * 6 for page in t["pdf"]] * 2
            with open(os.path.join(out, f"{lang}-{n:04}.pdf"), "wb") as f:
                f.write(pdf(pages))
            docx(os.path.join(out, f"{lang}-{n:04}.docx"), TITLES[lang] + tag, [p + tag for p in t["docx"] * 8])
            epub(os.path.join(out, f"{lang}-{n:04}.epub"), TITLES[lang] + tag, lang,
                 [(h + tag, (p + " ") * 8) for h, p in t["epub"]])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "formats"))
    ap.add_argument("--copies", type=int, default=0)
    ap.add_argument("--bulk")
    args = ap.parse_args()
    if args.copies:
        bulk(args.bulk or "target/format-bulk", args.copies)
    else:
        fixtures(args.out)


if __name__ == "__main__":
    main()
