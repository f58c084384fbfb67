package jdiffusion.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CLIP's byte-level byte-pair encoding (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
 * Subword Units"; the byte-level variant of GPT-2, Radford et al. 2019, as openai/CLIP's simple_tokenizer.py and
 * transformers' CLIPTokenizer apply it): a piece of text becomes its UTF-8 bytes, each byte a printable symbol
 * ({@link #bytesToUnicode}), the last symbol marked end-of-word with {@code </w>}; then the adjacent pair of lowest
 * merge rank is joined everywhere (left to right, without overlap) until no adjacent pair has a rank.
 *
 * <p>Results are cached per piece, as both references do (prompts repeat words); the cache is bounded and
 * starts over when full, so a long-running process does not grow without limit. Thread-safe.
 */
final class BytePairEncoding {
    static final String END_OF_WORD = "</w>";
    private static final int CACHE_LIMIT = 1 << 16;
    /** Byte b (0..255) → the symbol standing for it. */
    static final char[] BYTE_TO_CHAR = bytesToUnicode();

    /** "first second" → rank (symbols never contain a space: byte 0x20 is symbol U+0120). */
    private final Map<String, Integer> ranks;
    private final Map<String, List<String>> cache = new ConcurrentHashMap<>();

    BytePairEncoding(Map<String, Integer> ranks) {
        this.ranks = ranks;
    }

    /**
     * GPT-2's bytes_to_unicode: the 188 bytes that are printable Latin-1 characters ('!'..'~', '¡'..'¬',
     * '®'..'ÿ') stand for themselves, the other 68 get the code points 256, 257, ... in byte order, so every
     * byte sequence is a string of visible, non-space symbols.
     */
    static char[] bytesToUnicode() {
        char[] map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char) b : (char) (256 + n++);
        }
        return map;
    }

    /** The piece's UTF-8 bytes as symbols. */
    static String byteSymbols(String piece) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        char[] s = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) s[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
        return new String(s);
    }

    /** The BPE tokens of a piece already mapped to byte symbols (a non-empty string). */
    List<String> encode(String symbols) {
        List<String> hit = cache.get(symbols);
        if (hit != null) return hit;
        List<String> out = List.copyOf(merge(symbols));
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(symbols, out);
        return out;
    }

    private List<String> merge(String symbols) {
        List<String> word = new ArrayList<>(symbols.length());
        for (int i = 0; i < symbols.length() - 1; i++) word.add(String.valueOf(symbols.charAt(i)));
        word.add(symbols.charAt(symbols.length() - 1) + END_OF_WORD);
        while (word.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null, second = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer r = ranks.get(word.get(i) + ' ' + word.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (first == null) break;
            List<String> next = new ArrayList<>(word.size());
            for (int i = 0; i < word.size(); ) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    next.add(first + second);
                    i += 2;
                } else {
                    next.add(word.get(i++));
                }
            }
            word = next;
        }
        return word;
    }
}
