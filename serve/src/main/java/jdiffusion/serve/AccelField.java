package jdiffusion.serve;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.accel.AdaptiveSkip;
import jdiffusion.accel.PolicySpec;

import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The request's {@code accel} field: the CLI's {@code --accel} methods and parameters as JSON, turned into
 * the {@link PolicySpec} that {@code --accel} and the sweep build their policies from. Three forms:
 * <pre>
 *   "accel": "deepcache"                                   methods, comma-separated, with the CLI's defaults
 *   "accel": {"method": ["adaptive"], "delta": 0.02}      methods + parameters (snake_case of the CLI options)
 *   "accel": "dc-n2-b0-u"                                  a PolicySpec id, as the sweep writes them
 * </pre>
 * Defaults are the CLI's ({@code AccelOptions}; a test reads them from its picocli model). A parameter of a
 * method that is not selected is refused rather than ignored.
 */
final class AccelField {
    private AccelField() {
    }

    /** The methods of --accel; postdiff = mixed-res + deepcache (+ xattn on conditional models). */
    static final List<String> METHODS = List.of("none", "adaptive", "deepcache", "mixed-res", "xattn", "postdiff");

    /** Parameter → the method it belongs to (JSON names: the CLI options in snake_case), in the CLI's order. */
    static final Map<String, String> PARAMETERS = orderedMap(
            "delta", "adaptive", "max_skip", "adaptive", "adaptive_scope", "adaptive",
            "interval", "deepcache", "branch", "deepcache", "deepcache_schedule", "deepcache", "center", "deepcache", "power", "deepcache",
            "beta", "mixed-res", "low_res_fraction", "mixed-res",
            "xattn_step", "xattn");

    private static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The CLI's defaults (AccelOptions' @Option defaultValue). */
    static final double DELTA = 0.01, POWER = 1.4, BETA = 0.5, LOW_RES_FRACTION = 0.5;
    static final int MAX_SKIP = 4, INTERVAL = 3, BRANCH = 0;

    static PolicySpec parse(JsonNode v, ServedModel m, int steps) {
        if (v == null || v.isNull()) return PolicySpec.FULL;
        if (v.isTextual()) {
            String s = v.asText().trim();
            if (s.isEmpty()) throw ApiError.field("accel", "is empty (give a method such as \"deepcache\", an object or a policy id)");
            boolean methods = true;
            for (String part : s.split(",")) methods &= METHODS.contains(part.trim().toLowerCase(java.util.Locale.ROOT));
            if (methods) return build(methodSet(List.of(s.split(",")), m), v, m, steps);
            try {
                return PolicySpec.parse(s);
            } catch (IllegalArgumentException e) {
                throw ApiError.field("accel", "'" + s + "' is neither methods (" + String.join(", ", METHODS) + ") nor a policy id: " + e.getMessage());
            }
        }
        if (!v.isObject()) throw ApiError.field("accel", "must be a string or an object, got " + ImageRequest.kind(v));
        for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("method") && !PARAMETERS.containsKey(f))
                throw new ApiError(400, "unknown_field", "accel." + f, "accel." + f + ": unknown field (fields: method, "
                        + String.join(", ", PARAMETERS.keySet()) + ")", null);
        }
        JsonNode mv = v.get("method");
        List<String> names = new java.util.ArrayList<>();
        if (mv == null || mv.isNull()) throw ApiError.field("accel.method", "required (one of " + String.join(", ", METHODS) + ", or a list)");
        if (mv.isTextual()) names.addAll(List.of(mv.asText().split(",")));
        else if (mv.isArray()) for (JsonNode e : mv) {
            if (!e.isTextual()) throw ApiError.field("accel.method", "list entries must be strings, got " + ImageRequest.kind(e));
            names.add(e.asText());
        }
        else throw ApiError.field("accel.method", "must be a string or a list of strings, got " + ImageRequest.kind(mv));
        return build(methodSet(names, m), v, m, steps);
    }

    /** The selected methods, postdiff expanded as AccelOptions expands it. */
    private static Set<String> methodSet(List<String> names, ServedModel m) {
        Set<String> out = new LinkedHashSet<>();
        for (String a : names) {
            String k = a.trim().toLowerCase(java.util.Locale.ROOT);
            if (!METHODS.contains(k)) throw ApiError.field("accel.method", "unknown method '" + a + "' (choose from " + METHODS + ")");
            if (k.equals("postdiff")) {
                out.add("mixed-res");
                out.add("deepcache");
                if (m.pipeline().unet().conditional()) out.add("xattn");
            } else if (!k.equals("none")) out.add(k);
        }
        return out;
    }

    /** The PolicySpec AccelOptions builds for these methods and parameters. */
    private static PolicySpec build(Set<String> methods, JsonNode v, ServedModel m, int steps) {
        try {
            return spec(methods, v, m, steps);
        } catch (ApiError e) {
            throw e.field() == null || e.field().startsWith("accel") ? e : e.withField("accel." + e.field());
        }
    }

    private static PolicySpec spec(Set<String> methods, JsonNode v, ServedModel m, int steps) {
        if (v.isObject())
            for (Map.Entry<String, String> p : PARAMETERS.entrySet())
                if (v.has(p.getKey()) && !methods.contains(p.getValue()))
                    throw ApiError.field("accel." + p.getKey(), "applies to method " + p.getValue() + ", which is not selected");
        JsonNode o = v.isObject() ? v : com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        PolicySpec.Adaptive ad = null;
        PolicySpec.Cache dc = null;
        PolicySpec.Mixed mr = null;
        PolicySpec.Xattn xa = null;
        if (methods.contains("adaptive")) {
            double delta = o.has("delta") ? ImageRequest.number(o, "delta", -1, 1) : DELTA;
            String scope = o.has("adaptive_scope") ? ImageRequest.string(o, "adaptive_scope") : "batch";
            if (!scope.equals("batch") && !scope.equals("sample"))
                throw ApiError.field("accel.adaptive_scope", "must be batch or sample, got '" + scope + "'");
            ad = new PolicySpec.Adaptive(delta, ImageRequest.integer(o, "max_skip", MAX_SKIP, 0, steps), AdaptiveSkip.Scope.of(scope));
        }
        if (methods.contains("deepcache")) {
            int levels = m.pipeline().unet().downBlocks().size();
            String sched = o.has("deepcache_schedule") ? ImageRequest.string(o, "deepcache_schedule") : "uniform";
            if (!sched.equals("uniform") && !sched.equals("non-uniform"))
                throw ApiError.field("accel.deepcache_schedule", "must be uniform or non-uniform, got '" + sched + "'");
            boolean nu = sched.equals("non-uniform");
            if (!nu && (o.has("center") || o.has("power")))
                throw ApiError.field("accel." + (o.has("center") ? "center" : "power"), "applies to deepcache_schedule non-uniform only");
            Integer center = o.has("center") ? ImageRequest.integer(o, "center", 0, 0, steps - 1) : null;
            double power = o.has("power") ? ImageRequest.number(o, "power", 0.01, 10) : POWER;
            dc = new PolicySpec.Cache(ImageRequest.integer(o, "interval", INTERVAL, 1, steps),
                    ImageRequest.integer(o, "branch", BRANCH, 0, 3 * levels - 1), nu, center, power);
        }
        if (methods.contains("mixed-res")) {
            double beta = o.has("beta") ? ImageRequest.number(o, "beta", 0, 1) : BETA;
            if (beta == 0) throw ApiError.field("accel.beta", "must be in (0, 1], got 0");
            mr = new PolicySpec.Mixed(beta, o.has("low_res_fraction") ? ImageRequest.number(o, "low_res_fraction", 0, 1) : LOW_RES_FRACTION);
        }
        if (methods.contains("xattn")) {
            if (!m.pipeline().unet().conditional())
                throw ApiError.field("accel.method", "xattn needs a conditional model; " + m.name() + " is unconditional");
            xa = new PolicySpec.Xattn(o.has("xattn_step") ? ImageRequest.integer(o, "xattn_step", 0, 0, steps) : null);
        }
        try {
            return new PolicySpec(ad, dc, mr, xa);
        } catch (IllegalArgumentException e) {   // per-sample AdaptiveDiffusion combined with a whole-batch method
            throw ApiError.field("accel.adaptive_scope", e.getMessage());
        }
    }
}
