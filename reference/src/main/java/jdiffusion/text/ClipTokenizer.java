package jdiffusion.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdiffusion.weights.WeightsException;
import jdiffusion.weights.config.CLIPTokenizerConfig;
import jdiffusion.weights.config.CLIPTokenizerConfig.AddedToken;
import org.jsoup.parser.Parser;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * transformers' CLIPTokenizer (with ftfy), read from a pipeline's {@code tokenizer/} folder: {@code vocab.json},
 * {@code merges.txt}, {@code tokenizer_config.json} and (optionally) {@code special_tokens_map.json}.
 *
 * <p>A prompt becomes ids in these steps, as transformers' {@code PreTrainedTokenizer.tokenize} and
 * {@code CLIPTokenizer._tokenize} do them (and, for the text between special tokens, openai/CLIP's
 * simple_tokenizer.py):
 * <ol>
 *   <li>special and added tokens are cut out of the raw text first (leftmost, longest first), each becoming its
 *       own id. In SD 2.x folders the pad token {@code !} is one of them, so every {@code !} becomes id 0;</li>
 *   <li>each remaining segment is HTML-unescaped twice (ftfy is taken as the identity, as the golden data was
 *       made), runs of whitespace become one space, it is stripped and lower-cased;</li>
 *   <li>the CLIP pre-tokenizer regex splits it into pieces (words, single digits, runs of other symbols, the
 *       contractions 's 't 're 've 'm 'll 'd);</li>
 *   <li>each piece is byte-pair encoded ({@link BytePairEncoding}) and each token looked up in the vocabulary
 *       (the unknown token's id for a token it lacks);</li>
 *   <li>BOS + at most {@code model_max_length − 2} tokens + EOS, padded with the pad token's id.</li>
 * </ol>
 * Instances are immutable and thread-safe.
 */
public final class ClipTokenizer {
    /** openai/CLIP's pre-tokenizer (transformers' CLIPTokenizer.pat), case-insensitive. */
    static final Pattern PIECES = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    /**
     * Python's {@code \s} on str (the characters for which str.isspace() is true): Unicode White_Space plus the
     * information separators U+001C..U+001F, which Java's Unicode {@code \s} leaves out.
     */
    private static final Pattern WHITESPACE = Pattern.compile("[\\s\\x1c-\\x1f]+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern LEADING_WHITESPACE = Pattern.compile("^" + WHITESPACE.pattern(), Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern TRAILING_WHITESPACE = Pattern.compile(WHITESPACE.pattern() + "$", Pattern.UNICODE_CHARACTER_CLASS);
    /** CLIPTokenizer reads at most 49152 − 256 − 2 merges (the BPE vocabulary of openai's file). */
    static final int MAX_MERGES = 49152 - 256 - 2;
    /** Pieces the BPE leaves whole: transformers seeds its BPE cache with these two. */
    private static final List<String> WHOLE_PIECES = List.of("<|startoftext|>", "<|endoftext|>");

    private final Path dir;
    private final CLIPTokenizerConfig config;
    private final Map<String, Integer> vocab;
    private final Map<Integer, String> decoder;
    private final BytePairEncoding bpe;
    /** Special and added tokens, longest first, with their ids. */
    private final List<AddedToken> splitTokens;
    private final Map<String, Integer> splitIds;
    private final int bosId, eosId, unkId, padId;

    private ClipTokenizer(Path dir, CLIPTokenizerConfig config, Map<String, Integer> vocab, Map<Integer, String> decoder,
                          BytePairEncoding bpe, List<AddedToken> splitTokens, Map<String, Integer> splitIds) {
        this.dir = dir;
        this.config = config;
        this.vocab = vocab;
        this.decoder = decoder;
        this.bpe = bpe;
        this.splitTokens = splitTokens;
        this.splitIds = splitIds;
        this.bosId = splitIds.get(config.bos().content());
        this.eosId = splitIds.get(config.eos().content());
        this.unkId = splitIds.get(config.unk().content());
        this.padId = splitIds.get(config.pad().content());
    }

    /** Loads a tokenizer folder; every problem is a {@link WeightsException} naming the file and what is wrong. */
    public static ClipTokenizer load(Path dir) {
        if (!Files.isDirectory(dir)) throw WeightsException.at(dir, null, "tokenizer folder does not exist");
        for (String f : List.of("vocab.json", "merges.txt", CLIPTokenizerConfig.TOKENIZER_CONFIG))
            if (!Files.isRegularFile(dir.resolve(f)))
                throw WeightsException.at(dir, null, "not a CLIPTokenizer folder: " + f + " is missing (a CLIPTokenizer folder has "
                        + "vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json)");
        CLIPTokenizerConfig config = CLIPTokenizerConfig.parse(dir);
        Path vocabFile = dir.resolve("vocab.json");
        Map<String, Integer> vocab = readVocab(vocabFile);
        Map<Integer, String> decoder = new HashMap<>();
        vocab.forEach((t, id) -> decoder.put(id, t));
        // added tokens with an id of their own extend the vocabulary; those the vocabulary has must agree with it
        Path cfgFile = dir.resolve(CLIPTokenizerConfig.TOKENIZER_CONFIG);
        Map<String, Integer> splitIds = new HashMap<>();
        config.addedTokens().forEach((id, t) -> {
            Integer inVocab = vocab.get(t.content());
            String holder = decoder.get(id);
            if (inVocab != null && inVocab.intValue() != id)
                throw WeightsException.at(cfgFile, "added_tokens_decoder", "token '" + t.content() + "' has id " + id
                        + " there but " + inVocab + " in vocab.json");
            if (holder != null && !holder.equals(t.content()))
                throw WeightsException.at(cfgFile, "added_tokens_decoder", "id " + id + " is '" + t.content()
                        + "' there but '" + holder + "' in vocab.json");
            decoder.put(id, t.content());
            splitIds.put(t.content(), id);
        });
        for (AddedToken t : config.splitTokens()) {
            if (splitIds.containsKey(t.content())) continue;
            Integer id = vocab.get(t.content());
            if (id == null)
                throw WeightsException.at(vocabFile, t.content(), "the special token '" + t.content() + "' (" + role(config, t)
                        + ") is not in the vocabulary; a CLIP vocab.json ends with <|startoftext|> = 49406 and <|endoftext|> = 49407");
            splitIds.put(t.content(), id);
        }
        List<AddedToken> split = new ArrayList<>();
        for (AddedToken t : config.splitTokens())
            if (split.stream().noneMatch(s -> s.content().equals(t.content()))) split.add(t);
        split.sort(Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed());
        BytePairEncoding bpe = new BytePairEncoding(readMerges(dir.resolve("merges.txt")));
        return new ClipTokenizer(dir, config, Map.copyOf(vocab), Map.copyOf(decoder), bpe, List.copyOf(split), Map.copyOf(splitIds));
    }

    private static String role(CLIPTokenizerConfig c, AddedToken t) {
        List<String> roles = new ArrayList<>();
        if (t.equals(c.bos())) roles.add("bos_token");
        if (t.equals(c.eos())) roles.add("eos_token");
        if (t.equals(c.unk())) roles.add("unk_token");
        if (t.equals(c.pad())) roles.add("pad_token");
        return roles.isEmpty() ? "additional special token" : String.join(", ", roles);
    }

    private static Map<String, Integer> readVocab(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw WeightsException.at(file, null, "not well-formed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw WeightsException.at(file, null, "cannot read: " + e.getMessage());
        }
        if (root == null || !root.isObject() || root.isEmpty())
            throw WeightsException.at(file, null, "must be a non-empty JSON object of token → id");
        Map<String, Integer> vocab = new HashMap<>();
        Map<Integer, String> seen = new HashMap<>();
        for (var it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode v = e.getValue();
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0)
                throw WeightsException.at(file, e.getKey(), "id must be a non-negative integer, found " + v);
            String other = seen.put(v.asInt(), e.getKey());
            if (other != null) throw WeightsException.at(file, e.getKey(), "id " + v.asInt() + " is also the id of '" + other + "'");
            vocab.put(e.getKey(), v.asInt());
        }
        return vocab;
    }

    /** merges.txt: a "#version" line, then one merge "first second" per line, most frequent first. */
    private static Map<String, Integer> readMerges(Path file) {
        List<String> lines;
        try {
            lines = Files.readString(file, StandardCharsets.UTF_8).strip().lines().toList();
        } catch (IOException e) {
            throw WeightsException.at(file, null, "cannot read: " + e.getMessage());
        }
        if (lines.isEmpty() || !lines.getFirst().startsWith("#version"))
            throw WeightsException.at(file, null, "line 1 must be the '#version: 0.2' header (CLIPTokenizer skips line 1 "
                    + "unread, so a file without it would lose its first merge)");
        if (lines.size() - 1 > MAX_MERGES)
            throw WeightsException.at(file, null, (lines.size() - 1) + " merges, but CLIPTokenizer reads only the first "
                    + MAX_MERGES + " (49152 − 256 − 2) and would ignore the rest");
        Map<String, Integer> ranks = new HashMap<>();
        for (int i = 1; i < lines.size(); i++) {
            String[] parts = lines.get(i).strip().split("\\s+");
            if (parts.length != 2 || parts[0].isEmpty())
                throw WeightsException.at(file, null, "line " + (i + 1) + " is not a merge of two symbols separated by a space: '"
                        + lines.get(i) + "'");
            String pair = parts[0] + ' ' + parts[1];
            if (ranks.putIfAbsent(pair, i - 1) != null)
                throw WeightsException.at(file, null, "line " + (i + 1) + " repeats the merge '" + pair + "' of line " + (ranks.get(pair) + 2));
        }
        return ranks;
    }

    /** The prompt as {@code model_max_length} ids: BOS, tokens (truncated), EOS, pad ids. */
    public TokenizedPrompt encode(String prompt) {
        int[] tokens = tokenIds(prompt);
        int max = config.modelMaxLength(), keep = Math.min(tokens.length, max - 2);
        int[] ids = new int[max];
        Arrays.fill(ids, padId);
        ids[0] = bosId;
        System.arraycopy(tokens, 0, ids, 1, keep);
        ids[keep + 1] = eosId;
        int dropped = tokens.length - keep;
        String warning = dropped == 0 ? null : String.format(
                "The following part of your input was truncated because CLIP can only handle sequences up to %d tokens "
                        + "(%d token%s dropped): %s", max, dropped, dropped == 1 ? "" : "s",
                decode(Arrays.copyOfRange(tokens, keep, tokens.length)));
        return new TokenizedPrompt(ids, tokens.length + 2, dropped, warning);
    }

    /** Several prompts, each {@link #encode encoded}. */
    public List<TokenizedPrompt> encode(List<String> prompts) {
        return prompts.stream().map(this::encode).toList();
    }

    /** The prompt's token ids without BOS/EOS, untruncated. */
    public int[] tokenIds(String prompt) {
        List<String> tokens = tokens(prompt);
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            String t = tokens.get(i);
            Integer special = splitIds.get(t);
            ids[i] = special != null ? special : vocab.getOrDefault(t, unkId);
        }
        return ids;
    }

    /** The prompt's tokens as strings (BPE symbols, special tokens as their text), untruncated, without BOS/EOS. */
    public List<String> tokens(String prompt) {
        checkText(prompt);
        List<String> out = new ArrayList<>();
        for (Segment s : splitSpecial(prompt)) {
            if (s.special) out.add(s.text);
            else for (String piece : pieces(s.text)) out.addAll(bpe(piece));
        }
        return out;
    }

    private static void checkText(String prompt) {
        if (prompt == null) throw new IllegalArgumentException("prompt must not be null");
        for (int i = 0; i < prompt.length(); i++) {
            char c = prompt.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < prompt.length() && Character.isLowSurrogate(prompt.charAt(i + 1))) i++;
            else if (Character.isSurrogate(c))
                throw new IllegalArgumentException("prompt has an unpaired UTF-16 surrogate at index " + i + " (not valid Unicode text)");
        }
    }

    private record Segment(String text, boolean special) {
    }

    /**
     * transformers' added-token split: the raw text is cut at every special or added token (leftmost first, the
     * longest where several start at one place); a token with lstrip/rstrip also eats the whitespace beside it.
     */
    private List<Segment> splitSpecial(String text) {
        List<Segment> out = new ArrayList<>();
        int start = 0;
        boolean stripNext = false;
        for (int i = 0; i < text.length(); ) {
            AddedToken hit = null;
            for (AddedToken t : splitTokens)
                if (text.startsWith(t.content(), i)) {
                    hit = t;
                    break;
                }
            if (hit == null) {
                i++;
                continue;
            }
            String before = text.substring(start, i);
            if (stripNext) before = LEADING_WHITESPACE.matcher(before).replaceFirst("");
            if (hit.lstrip()) before = TRAILING_WHITESPACE.matcher(before).replaceFirst("");
            if (!before.isEmpty()) out.add(new Segment(before, false));
            out.add(new Segment(hit.content(), true));
            i += hit.content().length();
            start = i;
            stripNext = hit.rstrip();
        }
        String rest = text.substring(start);
        if (stripNext) rest = LEADING_WHITESPACE.matcher(rest).replaceFirst("");
        if (!rest.isEmpty()) out.add(new Segment(rest, false));
        return out;
    }

    /** Clean-up and the CLIP pre-tokenizer: the pieces of a segment of plain text. */
    static List<String> pieces(String text) {
        String t = Parser.unescapeEntities(Parser.unescapeEntities(text, false), false); // openai's basic_clean: html.unescape twice
        t = WHITESPACE.matcher(t).replaceAll(" ").strip().toLowerCase(java.util.Locale.ROOT);
        List<String> out = new ArrayList<>();
        Matcher m = PIECES.matcher(t);
        while (m.find()) out.add(m.group());
        return out;
    }

    private List<String> bpe(String piece) {
        String symbols = BytePairEncoding.byteSymbols(piece);
        return WHOLE_PIECES.contains(symbols) ? List.of(symbols) : bpe.encode(symbols);
    }

    /**
     * Ids back to text, as transformers' decode does it: tokens joined, byte symbols back to UTF-8 bytes
     * (malformed sequences replaced), {@code </w>} as a space, stripped. Special tokens decode to their text.
     */
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            String t = decoder.get(id);
            if (t == null) throw new IllegalArgumentException("id " + id + " is not in the vocabulary of " + dir);
            for (int i = 0; i < t.length(); i++) {
                int b = BYTE_OF[t.charAt(i)];
                if (b < 0) bytes.writeBytes(String.valueOf(t.charAt(i)).getBytes(StandardCharsets.UTF_8));
                else bytes.write(b);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8).replace(BytePairEncoding.END_OF_WORD, " ").strip();
    }

    /** Symbol → byte (the inverse of bytes_to_unicode), −1 for characters that are no byte symbol. */
    private static final int[] BYTE_OF = new int[Character.MAX_VALUE + 1];

    static {
        Arrays.fill(BYTE_OF, -1);
        for (int b = 0; b < 256; b++) BYTE_OF[BytePairEncoding.BYTE_TO_CHAR[b]] = b;
    }

    public Path dir() {
        return dir;
    }

    public CLIPTokenizerConfig config() {
        return config;
    }

    public int modelMaxLength() {
        return config.modelMaxLength();
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int padId() {
        return padId;
    }

    /** The largest id plus one (vocabulary and added tokens). */
    public int idLimit() {
        return decoder.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    }
}
