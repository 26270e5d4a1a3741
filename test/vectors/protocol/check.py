#!/usr/bin/env python3
"""Cross-check of the protocol test vectors (test/vectors/protocol/*.json) in
Python, from PROTOCOL.md alone: no code of the reference implementation is
used. It re-encodes every statement and CBOR value with cbor2, recomputes the
SHA-256 hashes, checks the Ed25519 signatures (strict: S < L), rebuilds every
weights blob (Mulberry32 initial models, FLW1 encoding) and every model
layout, reads the log vectors as a site's replica must (entry bytes, chain,
signatures, RFC 6962 root, checkpoint and cosignature, each FitTask against
the logged round-opened and its plan, FedAvg of the committed round), and
checks the gRPC status numbers when grpcio is installed.

    python3 test/vectors/protocol/check.py [--floats shortest|float64] [DIR]

Needs cbor2 (Debian: python3-cbor2). Signatures need `cryptography`; without
it they are skipped, and the run says so. Exits 1 on any mismatch.

--floats: how a non-integral number is encoded. `shortest` (the default) is
the profile PROTOCOL.md specifies: RFC 8949 §4.2.1 preferred serialization,
the shortest of float16/32/64 that holds the value exactly. `float64` is the
older profile (always 8 bytes), for vectors written before the change; each
file names the profile it was written with in its "floats" field.
"""

import argparse
import base64
import hashlib
import json
import math
import os
import struct
import sys

try:
    import cbor2
except ImportError:  # pragma: no cover
    sys.exit("check.py needs cbor2: apt-get install python3-cbor2 (or pip install cbor2)")

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
except ImportError:  # pragma: no cover
    Ed25519PrivateKey = None

try:
    import grpc
except ImportError:  # pragma: no cover
    grpc = None

M32 = 0xFFFFFFFF
# Integral numbers up to this magnitude are CBOR integers; larger ones stay floats (PROTOCOL.md, CBOR profile).
MAX_SAFE_INTEGER = 2**53 - 1
# Ed25519 group order (RFC 8032 §5.1).
L = 2**252 + 27742317777372353535851937790883648493
STATEMENT_CONTEXT = b"fedlineage/statement/v1"
ENTRY_CONTEXT = b"fedlineage/entry/v1"


class Checker:
    def __init__(self):
        self.failures = 0
        self.passed = 0
        self.notes = []

    def eq(self, what, got, want):
        if got == want:
            self.passed += 1
        else:
            self.failures += 1
            print(f"FAIL {what}\n  got  {got}\n  want {want}")

    def true(self, what, ok):
        self.eq(what, bool(ok), True)


# ---------------------------------------------------------------------------
# Typed JSON and the canonical CBOR profile


def from_json(v):
    """Typed JSON (the files' "notation") to a Python value; integral numbers within ±(2^53 − 1) become int."""
    if isinstance(v, dict):
        if set(v) == {"$bytes"}:
            return bytes.fromhex(v["$bytes"])
        if set(v) == {"$int"}:
            return int(v["$int"])
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    if isinstance(v, float) and v.is_integer() and abs(v) <= MAX_SAFE_INTEGER:
        return int(v)
    return v


def sort_keys(v):
    """Maps with keys in canonical order: shorter UTF-8 key first, then bytewise (RFC 8949 §4.2.1 for text keys)."""
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
        return {k: sort_keys(v[k]) for k in keys}
    if isinstance(v, list):
        return [sort_keys(x) for x in v]
    return v


def encode(value, floats):
    if floats == "shortest":
        return cbor2.dumps(value, canonical=True)
    # cbor2 keeps dict order and writes every float as float64 when not canonical.
    return cbor2.dumps(sort_keys(value))


# ---------------------------------------------------------------------------
# Ed25519


def sign(seed, message):
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def public_key(seed):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_strict(key, message, signature):
    """RFC 8032 verification that also refuses a non-reduced S (S >= L), as the coordinator does."""
    if len(key) != 32 or len(signature) != 64:
        return False
    if int.from_bytes(signature[32:], "little") >= L:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


# ---------------------------------------------------------------------------
# Models


def imul(a, b):
    return (a * b) & M32


def mulberry32(seed):
    state = seed & M32

    def nxt():
        nonlocal state
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return nxt


def f32(x):
    """Round a float64 to float32 (nearest, ties to even), as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def input_width(features):
    return sum(1 if f["type"] == "numeric" else len(f["categories"]) - (1 if f.get("dropFirst", False) else 0) for f in features)


def input_names(features):
    out = []
    for f in features:
        if f["type"] == "numeric":
            out.append(f["name"])
        else:
            cats = f["categories"][1:] if f.get("dropFirst", False) else f["categories"]
            out.extend(f"{f['name']}={c}" for c in cats)
    return out


def model_shapes(model, width):
    widths = [1] if model["kind"] == "logreg" else list(model["hidden"]) + [1]
    out, fan_in = [], width
    for i, units in enumerate(widths):
        layer = "output" if i == len(widths) - 1 else f"hidden_{i}"
        out.append((f"{layer}/kernel", [fan_in, units]))
        out.append((f"{layer}/bias", [units]))
        fan_in = units
    return out


def size_of(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def initial_weights(model, width, seed):
    rnd = mulberry32(seed)
    shapes = model_shapes(model, width)
    tensors = []
    for i in range(0, len(shapes), 2):
        bound = 1 / math.sqrt(shapes[i][1][0])
        for name, shape in shapes[i : i + 2]:
            tensors.append((name, shape, [f32(bound * (2 * rnd() - 1)) for _ in range(size_of(shape))]))
    return tensors


def flw1_encode(tensors):
    out = bytearray(b"FLW1") + struct.pack("<I", len(tensors))
    for name, shape, _ in tensors:
        n = name.encode()
        out += struct.pack("<H", len(n)) + n + struct.pack("<B", len(shape)) + b"".join(struct.pack("<I", d) for d in shape)
    for _, _, values in tensors:
        out += b"".join(struct.pack("<f", v) for v in values)
    return bytes(out)


def flw1_decode(data):
    if data[:4] != b"FLW1":
        raise ValueError("bad magic")
    (count,) = struct.unpack_from("<I", data, 4)
    off, shapes = 8, []
    for _ in range(count):
        (n,) = struct.unpack_from("<H", data, off)
        name = data[off + 2 : off + 2 + n].decode("utf-8")
        off += 2 + n
        rank = data[off]
        shape = list(struct.unpack_from(f"<{rank}I", data, off + 1))
        off += 1 + 4 * rank
        shapes.append((name, shape))
    tensors = []
    for name, shape in shapes:
        k = size_of(shape)
        tensors.append((name, shape, list(struct.unpack_from(f"<{k}f", data, off))))
        off += 4 * k
    if off != len(data):
        raise ValueError(f"{len(data) - off} trailing bytes")
    return tensors


def flw1_size(shapes):
    return 8 + sum(2 + len(n.encode()) + 1 + 4 * len(s) for n, s in shapes) + 4 * sum(size_of(s) for _, s in shapes)


# ---------------------------------------------------------------------------
# The files


def check_cbor(c, doc, floats):
    for v in doc["vectors"]:
        value = from_json(v["value"])
        c.eq(f"cbor.json {v['desc']}: encoding", encode(value, floats).hex(), v["want"])
        c.eq(f"cbor.json {v['desc']}: decoding", cbor2.loads(bytes.fromhex(v["want"])), value)


def check_statements(c, doc, floats):
    seed = bytes.fromhex(doc["key"]["seed"])
    key = bytes.fromhex(doc["key"]["publicKey"])
    if Ed25519PrivateKey is not None:
        c.eq("statements.json: public key of the test seed", public_key(seed).hex(), key.hex())
    for v in doc["vectors"]:
        what = f"statements.json {v['desc']}"
        want = v["want"]
        value = from_json(v["value"])
        c.eq(f"{what}: t", value.get("t"), v["type"])
        body = encode(value, floats)
        c.eq(f"{what}: body", body.hex(), want["body"])
        wanted_body = bytes.fromhex(want["body"])
        c.eq(f"{what}: sha256", hashlib.sha256(wanted_body).hexdigest(), want["sha256"])
        message = STATEMENT_CONTEXT + b"\x00" + wanted_body
        c.eq(f"{what}: signing message", message.hex(), want["signingMessage"])
        if Ed25519PrivateKey is None:
            continue
        sig = bytes.fromhex(want["signature"])
        c.eq(f"{what}: signature (deterministic)", sign(seed, message).hex(), want["signature"])
        c.true(f"{what}: signature verifies", verify_strict(key, message, sig))
        flipped = bytearray(sig)
        flipped[0] ^= 0x01
        c.true(f"{what}: a flipped signature bit does not verify", not verify_strict(key, message, bytes(flipped)))
        flipped_body = bytearray(message)
        flipped_body[-1] ^= 0x01
        c.true(f"{what}: a flipped body bit does not verify", not verify_strict(key, bytes(flipped_body), sig))
        s_plus_l = sig[:32] + (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")
        c.true(f"{what}: S + L is refused (strict)", not verify_strict(key, message, s_plus_l))
    if Ed25519PrivateKey is None:
        c.notes.append("signatures NOT checked: the Python package `cryptography` is not installed")


def check_weights(c, doc):
    for v in doc["vectors"]:
        what = f"weights.json {v['desc']}"
        want = v["want"]
        data = bytes.fromhex(want["bytes"])
        if "init" in v:
            i = v["init"]
            tensors = initial_weights(i["model"], i["inputWidth"], i["seed"])
        else:
            d = v["delta"]
            local = initial_weights(d["model"], d["inputWidth"], d["localSeed"])
            base = initial_weights(d["model"], d["inputWidth"], d["baseSeed"])
            tensors = [(n, s, [f32(a - b) for a, b in zip(lv, bv)]) for (n, s, lv), (_, _, bv) in zip(local, base)]
        c.eq(f"{what}: FLW1 bytes", flw1_encode(tensors).hex(), want["bytes"])
        c.eq(f"{what}: sha256", hashlib.sha256(data).hexdigest(), want["sha256"])
        c.eq(f"{what}: size", len(data), want["size"])
        decoded = flw1_decode(data)
        c.eq(f"{what}: decoded tensors", [(n, s, vals) for n, s, vals in decoded], [(t["name"], t["shape"], t["values"]) for t in want["tensors"]])


def check_layouts(c, doc):
    for v in doc["vectors"]:
        what = f"layouts.json {v['desc']}"
        want = v["want"]
        features = v["data"]["features"]
        width = input_width(features)
        c.eq(f"{what}: input width", width, want["inputWidth"])
        c.eq(f"{what}: input names", input_names(features), want["inputNames"])
        shapes = model_shapes(v["model"], width)
        c.eq(f"{what}: tensors", [{"name": n, "shape": s} for n, s in shapes], want["tensors"])
        c.eq(f"{what}: parameters", sum(size_of(s) for _, s in shapes), want["parameters"])
        c.eq(f"{what}: FLW1 size", flw1_size(shapes), want["size"])


def merkle_root(leaves):
    """RFC 6962 §2.1 root over leaf hashes: split at the largest power of two below n."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def round_seed(study_seed, rnd):
    return int.from_bytes(hashlib.sha256(f"fedlineage/round-seed/{study_seed}/{rnd}".encode()).digest()[:4], "big")


def check_log(c, doc, floats):
    key = bytes.fromhex(doc["key"]["publicKey"])
    entries, prev, leaves = [], bytes(32), []
    for v in doc["entries"]:
        what = f"log.json entry {v['seq']} ({v['kind']})"
        want = v["want"]
        value = from_json(v["value"])
        data = encode(value, floats)
        c.eq(f"{what}: bytes", data.hex(), want["bytes"])
        c.eq(f"{what}: hash", hashlib.sha256(data).hexdigest(), want["sha256"])
        c.eq(f"{what}: leaf", hashlib.sha256(b"\x00" + data).hexdigest(), want["leaf"])
        c.eq(f"{what}: v, seq, kind", (value["v"], value["seq"], value["kind"]), (1, v["seq"], v["kind"]))
        c.eq(f"{what}: prev", value["prev"].hex(), prev.hex())
        c.eq(f"{what}: author", value["author"].hex(), key.hex())
        unsigned = encode({k: x for k, x in value.items() if k != "sig"}, floats)
        c.eq(f"{what}: unsigned bytes", unsigned.hex(), want["unsigned"])
        message = ENTRY_CONTEXT + b"\x00" + unsigned
        c.eq(f"{what}: signing message", message.hex(), want["signingMessage"])
        if Ed25519PrivateKey is not None:
            c.true(f"{what}: signature verifies", verify_strict(key, message, value["sig"]))
        prev = hashlib.sha256(data).digest()
        leaves.append(hashlib.sha256(b"\x00" + data).digest())
        entries.append(value)
    root = merkle_root(leaves)
    c.eq("log.json: RFC 6962 root", root.hex(), doc["root"])
    blobs = {b["sha256"]: bytes.fromhex(b["bytes"]) for b in doc["blobs"]}
    for h, b in blobs.items():
        c.eq(f"log.json blob {h[:16]}: sha256", hashlib.sha256(b).hexdigest(), h)

    # The study spec, and each FitTask against the logged round-opened and its plan.
    created = entries[0]["body"]
    spec = cbor2.loads(created["spec"])
    c.eq("log.json: study spec is canonical", encode(from_json(spec), floats).hex(), created["spec"].hex())
    width = input_width(spec["data"]["features"])
    for t in doc["fitTasks"]:
        what = f"log.json FitTask of {t['site']}"
        opened = next(e for e in entries if e["kind"] == "round-opened" and e["body"]["round"] == t["round"])
        body = opened["body"]
        planned = next((p["instructions"] for p in body["plan"] if p["site"] == t["site"]), None)
        c.true(f"{what}: the site is in the logged plan", planned is not None)
        c.eq(f"{what}: config = canonical CBOR of the planned instructions", encode(from_json(planned or {}), floats).hex(), t["config"])
        c.eq(f"{what}: config decodes to the instructions", cbor2.loads(bytes.fromhex(t["config"])), from_json(t["instructions"]))
        c.eq(f"{what}: base model", body["base"].hex(), t["baseModelHash"])
        c.eq(f"{what}: deadline", body["deadline"], t["deadlineMs"])
        c.eq(f"{what}: seed", body["seed"], t["seed"])
        c.eq(f"{what}: seed from the study seed", round_seed(spec["seed"], t["round"]), t["seed"])
        c.eq(f"{what}: opened_ms = the entry's time", opened["time"], t["openedMs"])
        c.eq(f"{what}: delta size", flw1_size(model_shapes(spec["model"], width)), t["deltaSizeBytes"])
        c.eq(f"{what}: base is the genesis", body["base"].hex(), created["genesis"].hex())
    c.eq("log.json: empty config = the map {}", encode({}, floats).hex(), "a0")

    # FedAvg of the committed round, from its parent and the logged deltas.
    genesis = initial_weights(spec["model"], width, spec["seed"])
    c.eq("log.json: genesis = the seeded initial model", hashlib.sha256(flw1_encode(genesis)).hexdigest(), created["genesis"].hex())
    for e in entries:
        if e["kind"] != "round-committed":
            continue
        b = e["body"]
        parent = flw1_decode(blobs[b["parent"].hex()])
        lr = b["strategy"]["params"]["serverLearningRate"]
        inputs = sorted(b["inputs"], key=lambda i: i["site"])
        deltas = [(i["examples"], flw1_decode(blobs[i["delta"].hex()])) for i in inputs]
        total = sum(n for n, _ in deltas)
        model = []
        for ti, (name, shape, values) in enumerate(parent):
            out = []
            for j, g in enumerate(values):
                acc = 0.0
                for n, d in deltas:
                    acc += n * d[ti][2][j]
                out.append(f32(g + lr * acc / total))
            model.append((name, shape, out))
        c.eq(f"log.json round {b['round']}: FedAvg model hash", hashlib.sha256(flw1_encode(model)).hexdigest(), b["model"].hex())

    # The checkpoint over the whole log, a C2SP signed note, and a witness's cosignature/v1 of it.
    cp, want = doc["checkpoint"], doc["checkpoint"]["want"]
    origin = "fedlineage.example/study/" + created["study"]
    body = f"{origin}\n{len(entries)}\n{base64.b64encode(root).decode()}\n"
    c.eq("log.json checkpoint: origin and size", (cp["origin"], cp["size"]), (origin, len(entries)))
    c.eq("log.json checkpoint: body", body, want["body"])
    key_id = hashlib.sha256(origin.encode() + b"\n\x01" + key).digest()[:4]
    vkey_b64 = base64.b64encode(b"\x01" + key).decode()
    c.eq("log.json checkpoint: verifier key", f"{origin}+{key_id.hex()}+{vkey_b64}", want["verifierKey"])
    text, _, sig_block = want["note"].rpartition("\n\n")
    c.eq("log.json checkpoint: note text", text + "\n", body)
    name, _, b64 = sig_block.rstrip("\n").removeprefix("\u2014 ").partition(" ")
    raw = base64.b64decode(b64)
    c.eq("log.json checkpoint: signature line", (sig_block.startswith("\u2014 "), name, raw[:4].hex(), len(raw)), (True, origin, key_id.hex(), 68))
    cos = doc["cosignature"]
    cos_message = f"cosignature/v1\ntime {cos['timestamp']}\n{body}"
    c.eq("log.json cosignature: message", cos_message, cos["want"]["message"])
    witness = "fedlineage.example/witness/" + key.hex()
    w_id = hashlib.sha256(witness.encode() + b"\n\x04" + key).digest()[:4]
    cos_sig = bytes.fromhex(cos["want"]["signature"])
    line = "\u2014 " + witness + " " + base64.b64encode(w_id + cos["timestamp"].to_bytes(8, "big") + cos_sig).decode()
    c.eq("log.json cosignature: signature line", line, cos["want"]["line"])
    if Ed25519PrivateKey is not None:
        c.true("log.json checkpoint: signature verifies", verify_strict(key, body.encode(), raw[4:]))
        c.true("log.json cosignature: signature verifies", verify_strict(key, cos_message.encode(), cos_sig))


def check_error_codes(c, doc):
    for v in doc["vectors"]:
        c.true(f"error-codes.json {v['code']}: logged only by RPCs that return it", set(v["logged"]) <= set(v["rpcs"]))
    if grpc is None:
        c.notes.append("gRPC status numbers NOT checked: grpcio is not installed")
        return
    for v in doc["vectors"]:
        c.eq(f"error-codes.json {v['code']}: status number", grpc.StatusCode[v["want"]["status"]].value[0], v["want"]["statusCode"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--floats", choices=["shortest", "float64"], default="shortest")
    ap.add_argument("dir", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()

    def load(name):
        with open(os.path.join(args.dir, name), encoding="utf-8") as f:
            return json.load(f)

    c = Checker()
    written_with = set()
    for name, check in [("cbor.json", check_cbor), ("statements.json", check_statements), ("log.json", check_log)]:
        doc = load(name)
        written_with.add(doc.get("floats"))
        check(c, doc, args.floats)
    check_weights(c, load("weights.json"))
    check_layouts(c, load("layouts.json"))
    check_error_codes(c, load("error-codes.json"))

    for n in c.notes:
        print(f"NOTE {n}")
    if c.failures and written_with != {args.floats}:
        print(f"NOTE the vectors were written with floats={'/'.join(sorted(map(str, written_with)))}, this run checked floats={args.floats}: float-bearing vectors differ by design")
    print(f"{c.passed} checks passed, {c.failures} failed")
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
