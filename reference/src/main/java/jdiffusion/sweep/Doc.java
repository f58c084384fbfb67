package jdiffusion.sweep;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A small document model rendered twice: as Markdown (images linked relatively) and as a self-contained
 * HTML page (images embedded as base64 data URIs), so results.md and report.html say the same thing.
 */
final class Doc {
    private sealed interface Block permits Heading, Para, Table, Image, Code {
    }

    private record Heading(int level, String text) implements Block {
    }

    private record Para(String text) implements Block {
    }

    private record Table(List<String> header, List<List<String>> rows, List<Boolean> bold) implements Block {
    }

    private record Image(Path file, String alt) implements Block {
    }

    private record Code(String text) implements Block {
    }

    private final List<Block> blocks = new ArrayList<>();

    Doc h(int level, String text) {
        blocks.add(new Heading(level, text));
        return this;
    }

    /** A paragraph; **bold** and `code` are understood by both renderers. */
    Doc p(String text) {
        blocks.add(new Para(text));
        return this;
    }

    Doc code(String text) {
        blocks.add(new Code(text));
        return this;
    }

    Doc image(Path file, String alt) {
        blocks.add(new Image(file, alt));
        return this;
    }

    /** A table; rows whose flag in {@code bold} is true are emphasised. */
    Doc table(List<String> header, List<List<String>> rows, List<Boolean> bold) {
        blocks.add(new Table(List.copyOf(header), List.copyOf(rows), bold == null ? null : List.copyOf(bold)));
        return this;
    }

    String markdown(Path relativeTo) {
        StringBuilder sb = new StringBuilder();
        for (Block b : blocks) {
            switch (b) {
                case Heading h -> sb.append("#".repeat(h.level())).append(' ').append(h.text()).append("\n\n");
                case Para p -> sb.append(p.text()).append("\n\n");
                case Code c -> sb.append("```\n").append(c.text()).append("\n```\n\n");
                case Image i -> sb.append("![").append(i.alt()).append("](").append(relativeTo.relativize(i.file()).toString().replace('\\', '/')).append(")\n\n");
                case Table t -> {
                    sb.append("| ").append(String.join(" | ", t.header())).append(" |\n|");
                    for (int k = 0; k < t.header().size(); k++) sb.append(k == 0 ? "---|" : "---:|");
                    sb.append('\n');
                    for (int r = 0; r < t.rows().size(); r++) {
                        boolean bold = t.bold() != null && t.bold().get(r);
                        sb.append("| ");
                        List<String> cells = t.rows().get(r);
                        for (int k = 0; k < cells.size(); k++) {
                            String c = cells.get(k).replace("|", "\\|");
                            sb.append(bold && k == 0 ? "**" + c + "**" : c).append(k + 1 < cells.size() ? " | " : " |");
                        }
                        sb.append('\n');
                    }
                    sb.append('\n');
                }
            }
        }
        return sb.toString();
    }

    String html(String title) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n<style>")
                .append("body{font-family:sans-serif;max-width:1560px;margin:2em auto;padding:0 1em;color:#222}")
                .append("table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}")
                .append("th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}tr.b td{font-weight:bold;background:#fff7e0}")
                .append("img{max-width:100%;border:1px solid #ddd;margin:.5em 0}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}")
                .append("code{background:#f6f6f6}</style></head><body>\n");
        for (Block b : blocks) {
            switch (b) {
                case Heading h -> sb.append("<h").append(h.level()).append('>').append(inline(h.text())).append("</h").append(h.level()).append(">\n");
                case Para p -> sb.append("<p>").append(inline(p.text())).append("</p>\n");
                case Code c -> sb.append("<pre>").append(esc(c.text())).append("</pre>\n");
                case Image i -> sb.append("<figure><img alt=\"").append(esc(i.alt())).append("\" src=\"data:image/png;base64,")
                        .append(base64(i.file())).append("\"><figcaption>").append(esc(i.alt())).append("</figcaption></figure>\n");
                case Table t -> {
                    sb.append("<table><thead><tr>");
                    for (String hd : t.header()) sb.append("<th>").append(inline(hd)).append("</th>");
                    sb.append("</tr></thead><tbody>\n");
                    for (int r = 0; r < t.rows().size(); r++) {
                        boolean bold = t.bold() != null && t.bold().get(r);
                        sb.append(bold ? "<tr class=\"b\">" : "<tr>");
                        for (String c : t.rows().get(r)) sb.append("<td>").append(inline(c)).append("</td>");
                        sb.append("</tr>\n");
                    }
                    sb.append("</tbody></table>\n");
                }
            }
        }
        return sb.append("</body></html>\n").toString();
    }

    private static String base64(Path f) {
        try {
            return Base64.getEncoder().encodeToString(Files.readAllBytes(f));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** **bold** and `code` to HTML, everything else escaped. */
    static String inline(String s) {
        String e = esc(s);
        e = e.replaceAll("\\*\\*(.+?)\\*\\*", "<b>$1</b>");
        e = e.replaceAll("`(.+?)`", "<code>$1</code>");
        return e;
    }
}
