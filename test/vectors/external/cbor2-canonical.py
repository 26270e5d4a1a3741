#!/usr/bin/env python3
"""The only writer of test/vectors/cbor-canonical-cbor2.json: known answers for
ledger/core/canonical.ts from another stack, Python's cbor2 with canonical=True
(RFC 8949 §4.2.1 deterministic encoding, shortest floats). Run from anywhere
with a Python that has cbor2 5.x (Debian: apt install python3-cbor2):

    /usr/bin/python3 test/vectors/external/cbor2-canonical.py

It imports nothing of ours: the bytes are cbor2's. Checks before writing, any
failure aborts the run:
- cbor2's C encoder (_cbor2, what cbor2.dumps uses) and its pure-Python encoder
  write the same bytes for every vector;
- cbor2.loads(want) gives the value back;
- no vector holds a float with an integral value in the safe-integer range:
  our profile encodes those as integers (a JS number cannot say "float"), so
  they appear only under "refused", as cbor2 writes them for a Python float.

"refused" lists non-canonical bytes that decodeCanonical must refuse: the
vectors' floats written wider than needed (as float64 by canonical=False, as
float32 by struct), integral floats (with want = the integer's encoding, which
is what encodeCanonical gives for that JS number), NaN and infinities, and a
map in insertion order.

cbor2 5.4.6's C encoder writes the integral floats 32768.0 ... 65504.0 as
float32 although they fit float16 (agronholm/cbor2#157); the pure-Python
encoder gets them right. Both spellings of 65504.0 are in "refused".
"""

import importlib.metadata
import json
import math
import struct
import sys
from io import BytesIO
from pathlib import Path

import cbor2
from cbor2.encoder import CBOREncoder as PurePythonEncoder

OUT = Path(__file__).resolve().parent.parent / "cbor-canonical-cbor2.json"
MAX_SAFE_INTEGER = 2**53 - 1

# ---------------------------------------------------------------------------
# Value descriptions: JSON that test/unit/ledger/canonical-vectors.test.ts
# rebuilds. An integer is {"int": decimal} (a JS number when safe, else a
# bigint), a float {"float": repr} (Python's repr reads back exactly with JS
# Number()), {"text": s}, {"bytes": hex}, {"array": [...]}, {"map": [[key,
# value], ...]} (keys are text, in the order given to cbor2), and true, false,
# null as themselves.


def I(n):
    return {"int": str(n)}


def F(x):
    return {"float": repr(float(x))}


def T(s):
    return {"text": s}


def B(h):
    return {"bytes": h}


def A(*items):
    return {"array": list(items)}


def M(*pairs):
    return {"map": [[k, v] for k, v in pairs]}


def to_python(d):
    if d is None or isinstance(d, bool):
        return d
    (kind, x), = d.items()
    if kind == "int":
        return int(x)
    if kind == "float":
        return float(x)
    if kind == "text":
        return x
    if kind == "bytes":
        return bytes.fromhex(x)
    if kind == "array":
        return [to_python(i) for i in x]
    if kind == "map":
        return {k: to_python(v) for k, v in x}
    raise ValueError(kind)


def floats_of(d):
    if isinstance(d, dict):
        (kind, x), = d.items()
        if kind == "float":
            yield float(x)
        elif kind == "array":
            for i in x:
                yield from floats_of(i)
        elif kind == "map":
            for _, v in x:
                yield from floats_of(v)


def pure_python_dumps(value, canonical):
    out = BytesIO()
    PurePythonEncoder(out, canonical=canonical).encode(value)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Vectors: (description, value)

FLOATS = [
    ("0.5: float16", 0.5),
    ("0.75: float16", 0.75),
    ("1.5: float16", 1.5),
    ("-2.5: float16", -2.5),
    ("1e-7: not exact in float32 or float16, float64", 1e-7),
    ("0.1: float64", 0.1),
    ("1/3: float64", 1 / 3),
    ("-0.1: float64", -0.1),
    ("2^-24, the smallest float16 subnormal", 5.960464477539063e-8),
    ("-2^-24", -5.960464477539063e-8),
    ("3 * 2^-24, a float16 subnormal with two significant bits", 3 * 2**-24),
    ("1023 * 2^-24, the largest float16 subnormal", 6.097555160522461e-05),
    ("2^-14, the smallest normal float16", 6.103515625e-05),
    ("2^-25: below float16, float32", 2**-25),
    ("65503.5: float32", 65503.5),
    ("100000.5: float32", 100000.5),
    ("1 + 2^-10: float16, last significand bit", 1 + 2**-10),
    ("1 + 2^-11: float32", 1 + 2**-11),
    ("1 + 2^-23: float32, last significand bit", 1 + 2**-23),
    ("1 + 2^-24: float64", 1 + 2**-24),
    ("2^-149, the smallest float32 subnormal", 2**-149),
    ("2^-126 - 2^-149, the largest float32 subnormal", 2**-126 - 2**-149),
    ("5e-324, the smallest float64 subnormal", 5e-324),
    ("3.4028234663852886e38, the largest float32 (integral, beyond 2^53: a float)", 3.4028234663852886e38),
    ("2^53 as a float: beyond the safe-integer range, so a float (float32)", 2.0**53),
    ("-(2^53 + 2) as a float: float64", -(2.0**53 + 2)),
    ("1e300: float64", 1e300),
    ("the largest float64", sys.float_info.max),
]

VECTORS = (
    [(desc, F(x)) for desc, x in FLOATS]
    + [
        ("0", I(0)),
        ("23: one byte", I(23)),
        ("24: two bytes", I(24)),
        ("-1", I(-1)),
        ("-24: one byte", I(-24)),
        ("-25: two bytes", I(-25)),
        ("65504 (an integer here, never float16 f97bff)", I(65504)),
        ("1000000", I(1000000)),
        ("-1000000", I(-1000000)),
        ("2^32: eight-byte argument", I(2**32)),
        ("2^53 - 1, the largest safe integer", I(MAX_SAFE_INTEGER)),
        ("-(2^53 - 1)", I(-MAX_SAFE_INTEGER)),
        ("2^53 as an integer (a bigint in JS)", I(2**53)),
        ("-2^53 as an integer (a bigint in JS)", I(-(2**53))),
        ("2^63 - 1", I(2**63 - 1)),
        ("-2^63", I(-(2**63))),
        ("2^64 - 1, the largest unsigned 64-bit argument", I(2**64 - 1)),
        ("-2^64, the most negative 64-bit argument", I(-(2**64))),
        ("empty text", T("")),
        ("IETF", T("IETF")),
        ("non-ASCII: ü (2 UTF-8 bytes)", T("ü")),
        ("non-ASCII: 水 (3 UTF-8 bytes)", T("水")),
        ("non-BMP: 😀 (4 UTF-8 bytes, a surrogate pair in JS)", T("😀")),
        ("mixed text", T("Grüße, 世界")),
        ("text of 24 bytes: two-byte header", T("a" * 24)),
        ("text of 256 bytes: three-byte header", T("é" * 128)),
        ("empty bytes", B("")),
        ("4 bytes", B("01020304")),
        ("24 bytes: two-byte header", B("ff" * 24)),
        ("true", True),
        ("false", False),
        ("null", None),
        ("empty array", A()),
        ("nested arrays", A(I(1), A(I(2), I(3)), A(A()))),
        ("array of every kind", A(I(1), F(0.5), T("a"), B("00"), True, False, None, A(), M())),
        ("empty map", M()),
        (
            "map keys a, b, aa, aaa, B: shorter first, then bytewise (B < a)",
            M(("a", I(1)), ("b", I(2)), ("aa", I(3)), ("aaa", I(4)), ("B", I(5))),
        ),
        (
            "map keys by UTF-8 bytes: é (2 bytes) after ab, z before both",
            M(("é", I(1)), ("ab", I(2)), ("z", I(3))),
        ),
        (
            "map keys of 23 and 24 bytes (one-byte and two-byte text headers)",
            M(("k" * 24, I(1)), ("k" * 23, I(2)), ("", I(3))),
        ),
        (
            "nested maps with floats at every level",
            M(
                ("round", I(3)),
                ("metrics", M(("loss", F(0.125)), ("acc", F(0.9)), ("auc", F(0.75)))),
                ("lr", F(1e-3)),
                ("w", A(F(-2.5), F(3 * 2**-24), F(100000.5), F(0.1))),
                ("site", T("eu-3")),
                ("big", I(-(2**63))),
                ("blob", B("090807")),
                ("none", None),
                ("M", M(("b", M(("aa", True), ("a", False))), ("a", A()))),
            ),
        ),
    ]
)

# Integral floats: a JS number holds these as integers, so this profile
# encodes the integer; cbor2 given a Python float writes a float.
INTEGRAL_FLOATS = [
    ("1.0", 1.0),
    ("-0.0 (encodes as the integer 0)", -0.0),
    ("0.0", 0.0),
    ("100.0", 100.0),
    ("-4096.0", -4096.0),
    ("65504.0", 65504.0),
    ("1e15", 1e15),
    ("2^53 - 1", float(MAX_SAFE_INTEGER)),
]

NON_FINITE = [
    ("NaN (RFC 8949 §4.2.2's f97e00)", "f97e00"),
    ("NaN as float64", "fb7ff8000000000000"),
    ("Infinity", "f97c00"),
    ("-Infinity", "f9fc00"),
    ("Infinity as float64", "fb7ff0000000000000"),
]


def main():
    version = importlib.metadata.version("cbor2")
    vectors = []
    refused = []
    for desc, value in VECTORS:
        py = to_python(value)
        want = cbor2.dumps(py, canonical=True)
        if pure_python_dumps(py, True) != want:
            sys.exit(f"{desc}: cbor2's C and pure-Python encoders disagree")
        back = cbor2.loads(want)
        if not same(back, py):
            sys.exit(f"{desc}: cbor2.loads(want) is {back!r}, not {py!r}")
        for x in floats_of(value):
            if x == math.floor(x) and abs(x) <= MAX_SAFE_INTEGER:
                sys.exit(f"{desc}: {x!r} is an integral float in the safe range, which this profile encodes as an integer")
        vectors.append({"desc": desc, "value": value, "want": want.hex()})

        # Mutated siblings: the same value with every float as float64
        # (cbor2 without canonical writes float64 and keeps insertion order,
        # so the map is given sorted) and, for a float16, as float32.
        wide = cbor2.dumps(sorted_maps(py), canonical=False)
        if wide != want:
            refused.append({"desc": f"{desc}, floats as float64", "hex": wide.hex(), "value": value, "want": want.hex()})
        if want[0] == 0xF9:
            refused.append({"desc": f"{desc}, as float32", "hex": struct.pack(">Bf", 0xFA, py).hex(), "value": value, "want": want.hex()})

    for desc, x in INTEGRAL_FLOATS:
        value = I(int(x))
        want = cbor2.dumps(int(x), canonical=True)
        spellings = {cbor2.dumps(x, canonical=True), pure_python_dumps(x, True), struct.pack(">Bd", 0xFB, x)}
        for hexed in sorted(b.hex() for b in spellings):
            refused.append({"desc": f"{desc} as a float ({hexed[:2]}), not an integer", "hex": hexed, "value": value, "want": want.hex()})

    for desc, hexed in NON_FINITE:
        refused.append({"desc": desc, "hex": hexed})

    unsorted = {"b": 1, "a": 2, "aa": 3}
    refused.append(
        {
            "desc": "map keys in insertion order (canonical=False)",
            "hex": cbor2.dumps(unsorted, canonical=False).hex(),
            "value": M(*((k, I(v)) for k, v in unsorted.items())),
            "want": cbor2.dumps(unsorted, canonical=True).hex(),
        }
    )

    doc = {
        "comment": "Written by test/vectors/external/cbor2-canonical.py (/usr/bin/python3 test/vectors/external/cbor2-canonical.py); never edit by hand.",
        "source": f"cbor2 {version} (Debian python3-cbor2; C and pure-Python encoders agree on every vector), cbor2.dumps(value, canonical=True), Python {sys.version.split()[0]}",
        "about": (
            "vectors: encodeCanonical(value) = want (hex), and decodeCanonical(want) gives value back. "
            "refused: decodeCanonical(hex) throws LEDGER_NON_CANONICAL; hex is another encoding of value, whose canonical one is want (absent for NaN and infinities, which have none). "
            'value: {"int": decimal} (a number when safe, else a bigint), {"float": Python repr}, {"text": s}, {"bytes": hex}, '
            '{"array": [...]}, {"map": [[key, value], ...]}, true, false, null.'
        ),
        "vectors": vectors,
        "refused": refused,
    }
    OUT.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(vectors)} vectors and {len(refused)} refused encodings to {OUT}")


def same(a, b):
    """Equal values of equal types (Python's == says 1 == 1.0); map order ignored."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def sorted_maps(v):
    if isinstance(v, dict):
        return {k: sorted_maps(v[k]) for k in sorted(v, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(v, list):
        return [sorted_maps(i) for i in v]
    return v


if __name__ == "__main__":
    main()
