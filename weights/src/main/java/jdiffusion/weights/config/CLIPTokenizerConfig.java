package jdiffusion.weights.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The settings of a transformers {@code CLIPTokenizer} folder (as a Stable Diffusion pipeline's {@code tokenizer/}
 * holds it): {@code tokenizer_config.json} and, when present, {@code special_tokens_map.json}, whose entries win
 * over tokenizer_config.json's, as transformers' {@code from_pretrained} merges them. Absent special tokens take
 * CLIPTokenizer's defaults ({@code <|startoftext|>}, and {@code <|endoftext|>} for eos, unk and pad). The
 * vocabulary and merges are read by the tokenizer itself.
 *
 * @param bos               prepended to every prompt
 * @param eos               appended to every prompt
 * @param unk               stands for a symbol the vocabulary lacks
 * @param pad               fills the prompt up to {@code modelMaxLength} (SD 1.x: {@code <|endoftext|>}; SD 2.x: {@code !})
 * @param additionalSpecial {@code additional_special_tokens}
 * @param addedTokens       {@code added_tokens_decoder} (written by newer transformers): id → token
 * @param modelMaxLength    the length every prompt is truncated and padded to, BOS and EOS included (77 for CLIP)
 */
public record CLIPTokenizerConfig(AddedToken bos, AddedToken eos, AddedToken unk, AddedToken pad,
                                  List<AddedToken> additionalSpecial, Map<Integer, AddedToken> addedTokens,
                                  int modelMaxLength) {

    /**
     * transformers' AddedToken: text that is cut out of a prompt before anything else and kept whole.
     * {@code lstrip}/{@code rstrip}: the whitespace left/right of it is removed too.
     */
    public record AddedToken(String content, boolean lstrip, boolean rstrip) {
    }

    public static final String TOKENIZER_CONFIG = "tokenizer_config.json", SPECIAL_TOKENS_MAP = "special_tokens_map.json";
    private static final Set<String> ADDED_TOKEN_KEYS = Set.of("content", "lstrip", "rstrip", "single_word", "normalized", "special", "__type");

    /** Reads {@code dir/tokenizer_config.json} and, if present, {@code dir/special_tokens_map.json}. */
    public static CLIPTokenizerConfig parse(Path dir) {
        Path map = dir.resolve(SPECIAL_TOKENS_MAP);
        return parse(ConfigReader.read(dir.resolve(TOKENIZER_CONFIG)), Files.isRegularFile(map) ? ConfigReader.read(map) : null);
    }

    /** @param map special_tokens_map.json, or null when the folder has none */
    public static CLIPTokenizerConfig parse(ConfigReader r, ConfigReader map) {
        r.string("tokenizer_class", "CLIPTokenizer", "CLIPTokenizer", "CLIPTokenizerFast");
        AddedToken bos = special(r, map, "bos_token", "<|startoftext|>");
        AddedToken eos = special(r, map, "eos_token", "<|endoftext|>");
        AddedToken unk = special(r, map, "unk_token", "<|endoftext|>");
        AddedToken pad = special(r, map, "pad_token", "<|endoftext|>");
        boolean fromMap = map != null && map.has("additional_special_tokens");
        List<AddedToken> additional = additionalSpecial(fromMap ? map : r);
        (fromMap ? r : map == null ? r : map).raw("additional_special_tokens"); // the other file's entry is overridden
        if (!r.has("model_max_length"))
            throw r.error("model_max_length", "required: the length prompts are truncated and padded to (77 for CLIP); "
                    + "without it transformers would not truncate at all");
        int maxLen = r.integer("model_max_length", null, 2, 1_000_000);   // BOS and EOS included
        Map<Integer, AddedToken> added = addedTokens(r);
        // CLIP always lower-cases and never adds a prefix space; these options cannot change that
        r.onlyDefault("do_lower_case", true);
        r.onlyDefault("add_prefix_space", false);
        r.onlyDefault("padding_side", "right");
        r.onlyDefault("truncation_side", "right");
        r.onlyDefault("split_special_tokens", false);
        r.onlyDefault("extra_special_tokens", Map.of());
        // errors and clean_up_tokenization_spaces act on decoding only; the other two are bookkeeping
        r.onlyDefault("errors", "replace");
        r.bool("clean_up_tokenization_spaces", true);
        r.inert("name_or_path", "special_tokens_map_file", "model_input_names");
        r.finish();
        if (map != null) map.finish();
        return new CLIPTokenizerConfig(bos, eos, unk, pad, additional, added, maxLen);
    }

    /** A special token from special_tokens_map.json if it has one, else from tokenizer_config.json, else the default. */
    private static AddedToken special(ConfigReader r, ConfigReader map, String key, String def) {
        JsonNode inConfig = r.raw(key), inMap = map == null ? null : map.raw(key);
        if (inMap != null && !inMap.isNull()) return addedToken(map, key, inMap);
        if (inConfig != null && !inConfig.isNull()) return addedToken(r, key, inConfig);
        return new AddedToken(def, false, false);
    }

    private static List<AddedToken> additionalSpecial(ConfigReader r) {
        JsonNode n = r.raw("additional_special_tokens");
        if (n == null || n.isNull()) return List.of();
        if (!n.isArray()) throw r.error("additional_special_tokens", "expected a list of tokens, found " + n);
        List<AddedToken> out = new ArrayList<>();
        for (JsonNode t : n) out.add(addedToken(r, "additional_special_tokens", t));
        return List.copyOf(out);
    }

    private static Map<Integer, AddedToken> addedTokens(ConfigReader r) {
        JsonNode n = r.raw("added_tokens_decoder");
        if (n == null || n.isNull()) return Map.of();
        if (!n.isObject()) throw r.error("added_tokens_decoder", "expected an object of id → token, found " + n);
        Map<Integer, AddedToken> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            var e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw r.error("added_tokens_decoder", "key '" + e.getKey() + "' is not a token id");
            }
            if (id < 0) throw r.error("added_tokens_decoder", "token id " + id + " is negative");
            if (!e.getValue().isObject()) throw r.error("added_tokens_decoder", "entry " + id + " must be an AddedToken object");
            out.put(id, addedToken(r, "added_tokens_decoder", e.getValue()));
        }
        return Collections.unmodifiableMap(out);
    }

    /** A token given as a plain string or as an AddedToken object ({@code content}, {@code lstrip}, {@code rstrip}, ...). */
    private static AddedToken addedToken(ConfigReader r, String key, JsonNode n) {
        if (n.isTextual()) {
            if (n.asText().isEmpty()) throw r.error(key, "a token cannot be the empty string");
            return new AddedToken(n.asText(), false, false);
        }
        if (!n.isObject()) throw r.error(key, "expected a token (a string or an AddedToken object), found " + n);
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!ADDED_TOKEN_KEYS.contains(f)) throw r.error(key, "unknown AddedToken field '" + f + "' (known: " + ADDED_TOKEN_KEYS + ")");
        }
        JsonNode content = n.get("content");
        if (content == null || !content.isTextual() || content.asText().isEmpty())
            throw r.error(key, "an AddedToken needs a non-empty string 'content', found " + n);
        if (flag(r, key, n, "single_word"))
            throw r.error(key, "single_word=true is not supported by jdiffusion (supported: false)");
        flag(r, key, n, "normalized"); // the slow CLIPTokenizer does not normalise added tokens either way
        flag(r, key, n, "special");
        JsonNode type = n.get("__type");
        if (type != null && !"AddedToken".equals(type.asText())) throw r.error(key, "__type must be AddedToken, found " + type);
        return new AddedToken(content.asText(), flag(r, key, n, "lstrip"), flag(r, key, n, "rstrip"));
    }

    private static boolean flag(ConfigReader r, String key, JsonNode token, String name) {
        JsonNode f = token.get(name);
        if (f == null || f.isNull()) return false;
        if (!f.isBoolean()) throw r.error(key, "AddedToken field '" + name + "' must be true or false, found " + f);
        return f.asBoolean();
    }

    /** Every token that is cut out of a prompt whole: the special tokens and the added tokens. */
    public List<AddedToken> splitTokens() {
        List<AddedToken> all = new ArrayList<>(List.of(bos, eos, unk, pad));
        all.addAll(additionalSpecial);
        all.addAll(addedTokens.values());
        return all;
    }
}
