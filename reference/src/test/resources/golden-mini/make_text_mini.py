"""Derives the text-to-image part of golden-mini from ../shared/golden (run from the repository root:
python3 reference/src/test/resources/golden-mini/make_text_mini.py). Needs numpy and the `regex` module.

clip-tokenizer/, clip-tokenizer-sd2/: cases.json copied whole; vocab.json and merges.txt reduced to what the 42
prompts use. BPE picks, among the adjacent pairs present, the one of lowest rank; keeping every ranked pair that is
ever present while the 42 prompts are encoded, in their original order, therefore gives the same tokens. The script
is an independent Python re-implementation of transformers' CLIPTokenizer (ftfy as identity, as the golden data):
it checks that the full and the reduced files both give every case's ids before writing anything.

clip-text-sd1-layout/, clip-text-sd2-layout/: config.json and io.safetensors copied; model.safetensors copied with
the rows of text_model.embeddings.token_embedding.weight that no input_ids of io.safetensors use set to zero (an
embedding lookup reads only the rows of its ids, so every output is unchanged; the zeros pack to almost nothing in git).

sd-text2img-tiny/, sd-text2img-runs/: see text2img() below (the same two reductions, for the runs kept).
"""
import html, json, os, shutil, struct
import numpy as np
import regex

SRC, DST = "../shared/golden", "reference/src/test/resources/golden-mini"
PAT = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()


def bpe(piece, ranks, seen):
    if piece in ("<|startoftext|>", "<|endoftext|>"):
        return [piece]
    word = list(piece[:-1]) + [piece[-1] + "</w>"]
    while len(word) > 1:
        pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
        ranked = [p for p in pairs if p in ranks]
        seen.update(ranked)
        if not ranked:
            break
        first, second = min(ranked, key=ranks.get)
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
                out.append(first + second)
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = out
    return word


def encode(prompt, specials, vocab, ranks, seen):
    tokens, i, start = [], 0, 0
    segments = []
    while i < len(prompt):
        hit = next((s for s in sorted(specials, key=len, reverse=True) if prompt.startswith(s, i)), None)
        if hit is None:
            i += 1
            continue
        segments += [(prompt[start:i], False), (hit, True)]
        i += len(hit)
        start = i
    segments.append((prompt[start:], False))
    for text, special in segments:
        if special:
            tokens.append(text)
            continue
        text = regex.sub(r"\s+", " ", html.unescape(html.unescape(text))).strip().lower()
        for piece in PAT.findall(text):
            tokens += bpe("".join(B2U[b] for b in piece.encode("utf-8")), ranks, seen)
    ids = [vocab[t] for t in tokens]
    return ids


def padded(ids, bos, eos, pad):
    ids = [bos] + ids[:75] + [eos]
    return ids + [pad] * (77 - len(ids))


def tokenizers():
    cases = json.load(open(f"{SRC}/clip-tokenizer/cases.json"))
    vocab = json.load(open(f"{SRC}/clip-tokenizer/vocab.json"))
    lines = open(f"{SRC}/clip-tokenizer/merges.txt", encoding="utf-8").read().strip().split("\n")
    merges = [tuple(m.split()) for m in lines[1:]]
    ranks = {m: r for r, m in enumerate(merges)}
    seen, used = set(), {"<|startoftext|>", "<|endoftext|>", "!"}
    for folder, specials, pad, key in (("clip-tokenizer", ["<|startoftext|>", "<|endoftext|>"], 49407, "ids"),
                                       ("clip-tokenizer-sd2", ["<|startoftext|>", "<|endoftext|>", "!"], 0, "ids_sd2")):
        for c in cases:
            ids = encode(c["prompt"], specials, vocab, ranks, seen)
            assert padded(ids, 49406, 49407, pad) == c[key], (folder, c["prompt"])
            used.update(t for t, i in vocab.items() if i in ids)
    kept = sorted(seen, key=ranks.get)
    small_ranks = {m: r for r, m in enumerate(kept)}
    small_vocab = {t: i for t, i in vocab.items() if t in used}
    for folder, specials, pad, key in (("clip-tokenizer", ["<|startoftext|>", "<|endoftext|>"], 49407, "ids"),
                                       ("clip-tokenizer-sd2", ["<|startoftext|>", "<|endoftext|>", "!"], 0, "ids_sd2")):
        for c in cases:
            assert padded(encode(c["prompt"], specials, small_vocab, small_ranks, set()), 49406, 49407, pad) == c[key]
        os.makedirs(f"{DST}/{folder}", exist_ok=True)
        for f in ("special_tokens_map.json", "tokenizer_config.json"):
            shutil.copy(f"{SRC}/{folder}/{f}", f"{DST}/{folder}/{f}")
        with open(f"{DST}/{folder}/vocab.json", "w", encoding="utf-8") as f:
            json.dump(small_vocab, f, ensure_ascii=False)
        with open(f"{DST}/{folder}/merges.txt", "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in kept))
    shutil.copy(f"{SRC}/clip-tokenizer/cases.json", f"{DST}/clip-tokenizer/cases.json")
    print(f"tokenizers: {len(kept)} of {len(merges)} merges, {len(small_vocab)} of {len(vocab)} vocabulary entries")


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), bytearray(raw[8 + n:]), raw[:8 + n]


def text_encoders():
    for case in ("clip-text-sd1-layout", "clip-text-sd2-layout"):
        os.makedirs(f"{DST}/{case}", exist_ok=True)
        for f in ("config.json", "io.safetensors"):
            shutil.copy(f"{SRC}/{case}/{f}", f"{DST}/{case}/{f}")
        io_header, io_data, _ = read_safetensors(f"{SRC}/{case}/io.safetensors")
        e = io_header["input_ids"]
        ids = set(np.frombuffer(bytes(io_data[e["data_offsets"][0]:e["data_offsets"][1]]), dtype="<i8").tolist())
        header, data, head_bytes = read_safetensors(f"{SRC}/{case}/model.safetensors")
        t = header["text_model.embeddings.token_embedding.weight"]
        assert t["dtype"] == "F16"
        b0, b1 = t["data_offsets"]
        rows = np.frombuffer(bytes(data[b0:b1]), dtype="<f2").reshape(t["shape"]).copy()
        keep = np.zeros(rows.shape[0], dtype=bool)
        keep[sorted(ids)] = True
        rows[~keep] = 0
        data[b0:b1] = rows.tobytes()
        with open(f"{DST}/{case}/model.safetensors", "wb") as f:
            f.write(head_bytes + bytes(data))
        print(f"{case}: kept {keep.sum()} of {rows.shape[0]} token embedding rows")


RUNS = ("ddim-g7.5-neg", "ddim-g7.5-clipskip1", "euler-g1")   # DDIM with a negative prompt, clip_skip with "", Euler at g = 1
EXTRA_PROMPTS = ("a cat",)                                      # TextCliTest tokenizes it with the pipeline's tokenizer


def read_ids(path, key):
    header, data, _ = read_safetensors(path)
    if key not in header:
        return None
    e = header[key]
    assert e["dtype"] == "I64"
    return np.frombuffer(bytes(data[e["data_offsets"][0]:e["data_offsets"][1]]), dtype="<i8").tolist()


def text2img():
    """sd-text2img-tiny/ and three of its runs: model_index, scheduler, unet and vae whole; the tokenizer reduced to what
    the runs' prompts (and EXTRA_PROMPTS) use, checked against the runs' input_ids; the text encoder's token embedding
    rows that those ids do not use set to zero (every run's prompt_embeds unchanged)."""
    src, dst = f"{SRC}/sd-text2img-tiny", f"{DST}/sd-text2img-tiny"
    shutil.rmtree(dst, ignore_errors=True)
    for comp in ("scheduler", "unet", "vae"):
        shutil.copytree(f"{src}/{comp}", f"{dst}/{comp}")
    shutil.copy(f"{src}/model_index.json", f"{dst}/model_index.json")
    vocab = json.load(open(f"{src}/tokenizer/vocab.json"))
    lines = open(f"{src}/tokenizer/merges.txt", encoding="utf-8").read().strip().split("\n")
    ranks = {tuple(m.split()): r for r, m in enumerate(lines[1:])}
    specials = ["<|startoftext|>", "<|endoftext|>"]
    prompts, expected = list(EXTRA_PROMPTS), {}
    os.makedirs(f"{DST}/sd-text2img-runs", exist_ok=True)
    for run in RUNS:
        spec = json.load(open(f"{SRC}/sd-text2img-runs/{run}.json"))
        for f in (".json", ".safetensors", ".png"):
            shutil.copy(f"{SRC}/sd-text2img-runs/{run}{f}", f"{DST}/sd-text2img-runs/{run}{f}")
        st = f"{SRC}/sd-text2img-runs/{run}.safetensors"
        expected[spec["prompt"]] = read_ids(st, "input_ids")
        if spec["negative_prompt_used"] is not None:
            expected[spec["negative_prompt_used"]] = read_ids(st, "negative_input_ids")
    prompts += list(expected)
    seen, ids = set(), {49406, 49407}
    for p in prompts:
        got = padded(encode(p, specials, vocab, ranks, seen), 49406, 49407, 49407)
        if p in expected:
            assert got == expected[p], p
        ids.update(got)
    kept = sorted(seen, key=ranks.get)
    small_ranks = {m: r for r, m in enumerate(kept)}
    small_vocab = {t: i for t, i in vocab.items() if i in ids or t in ("<|startoftext|>", "<|endoftext|>")}
    for p in prompts:
        assert padded(encode(p, specials, small_vocab, small_ranks, set()), 49406, 49407, 49407) == \
               padded(encode(p, specials, vocab, ranks, set()), 49406, 49407, 49407), p
    os.makedirs(f"{dst}/tokenizer", exist_ok=True)
    for f in ("special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(f"{src}/tokenizer/{f}", f"{dst}/tokenizer/{f}")
    with open(f"{dst}/tokenizer/vocab.json", "w", encoding="utf-8") as f:
        json.dump(small_vocab, f, ensure_ascii=False)
    with open(f"{dst}/tokenizer/merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in kept))
    os.makedirs(f"{dst}/text_encoder", exist_ok=True)
    shutil.copy(f"{src}/text_encoder/config.json", f"{dst}/text_encoder/config.json")
    header, data, head_bytes = read_safetensors(f"{src}/text_encoder/model.safetensors")
    t = header["text_model.embeddings.token_embedding.weight"]
    assert t["dtype"] == "F16"
    b0, b1 = t["data_offsets"]
    rows = np.frombuffer(bytes(data[b0:b1]), dtype="<f2").reshape(t["shape"]).copy()
    keep = np.zeros(rows.shape[0], dtype=bool)
    keep[sorted(ids)] = True
    rows[~keep] = 0
    data[b0:b1] = rows.tobytes()
    with open(f"{dst}/text_encoder/model.safetensors", "wb") as f:
        f.write(head_bytes + bytes(data))
    print(f"sd-text2img-tiny: {len(kept)} merges, {len(small_vocab)} vocabulary entries, {keep.sum()} of {rows.shape[0]} "
          f"token embedding rows kept; runs {', '.join(RUNS)}")


if __name__ == "__main__":
    tokenizers()
    text_encoders()
    text2img()
