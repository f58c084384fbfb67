package jdiffusion.serve;

import com.fasterxml.jackson.databind.JsonNode;
import jdiffusion.accel.PolicySpec;
import jdiffusion.sample.Conditioning;
import jdiffusion.sample.StepPolicy;
import jdiffusion.schedule.Scheduler;
import jdiffusion.schedule.Schedulers;
import jdiffusion.tensor.NoiseSource;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A POST /v1/images body, validated: every field checked for type and range against the model it names,
 * each refusal an {@link ApiError} naming the field. Defaults are the CLI's, so {@code {"seed":3,"steps":20}}
 * is {@code generate --seed 3 --steps 20 --num-images 1}.
 *
 * @param classes      class index per image (class-conditional models), null otherwise
 * @param guidance     classifier-free guidance scale (conditional models), NaN for unconditional ones
 * @param accel        the acceleration setting, built as --accel builds it ({@link AccelField})
 */
public record ImageRequest(ServedModel model, String schedulerName, Schedulers.Resolved scheduler, int numImages, long seed,
                           int steps, double guidance, int[] classes, String prompt, String negativePrompt,
                           PolicySpec accel, Format format) {

    /** The body's fields, in the order the OpenAPI document lists them. */
    public static final List<String> FIELDS = List.of("model", "prompt", "negative_prompt", "class", "num_images", "seed",
            "steps", "scheduler", "guidance", "size", "accel", "response_format");

    public static final int MAX_STEPS = 1000;
    public static final double MAX_GUIDANCE = 50;

    /** png: image/png (what generate writes: the image, or a grid for several); json: base64 PNGs and the trace. */
    public enum Format { PNG, JSON }

    public static ImageRequest parse(JsonNode body, Models models) {
        if (body == null || !body.isObject())
            throw ApiError.of(400, "invalid_body", "the body must be a JSON object (send {} for all defaults), got " + kind(body));
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) throw new ApiError(400, "unknown_field", f, "unknown field '" + f + "' (fields: " + String.join(", ", FIELDS) + ")", null);
        }
        String modelName = string(body, "model");
        ServedModel m = modelName == null ? models.defaultModel() : models.get(modelName);
        if (m == null) throw new ApiError(400, "unknown_model", "model", "model: no model '" + modelName + "' is loaded (loaded: " + models.names() + ")", null);

        int n = integer(body, "num_images", 1, 1, ServeConfig.MAX_IMAGES_PER_REQUEST);
        long seed = body.has("seed") ? longValue(body.get("seed")) : 0L;
        int steps = integer(body, "steps", 50, 1, MAX_STEPS);
        String schedName = string(body, "scheduler");
        String sched = schedName == null ? m.defaultScheduler() : schedName.toLowerCase(java.util.Locale.ROOT);
        Schedulers.Resolved resolved = m.schedulers().get(sched);
        if (resolved == null) throw ApiError.field("scheduler", "unknown scheduler '" + schedName + "' (choose from " + String.join(", ", Schedulers.NAMES) + ")");
        checkSteps(resolved, steps);
        if (body.has("size")) {
            int size = integer(body, "size", m.sampleSize(), 1, 1 << 16);
            if (size != m.sampleSize())
                throw ApiError.field("size", m.name() + " generates " + m.sampleSize() + "×" + m.sampleSize() + " images only, got " + size);
        }
        Format format = switch (body.has("response_format") ? string(body, "response_format") : "png") {
            case "png" -> Format.PNG;
            case "json" -> Format.JSON;
            default -> throw ApiError.field("response_format", "must be png or json, got '" + body.get("response_format").asText() + "'");
        };

        String prompt = string(body, "prompt"), negative = string(body, "negative_prompt");
        for (String f : List.of("prompt", "negative_prompt"))
            if (body.has(f) && m.prompts() == null)
                throw ApiError.field(f, "this model has no text encoder (" + m.name() + " is " + m.kind().label
                        + (m.kind() == ServedModel.Kind.CLASS_CONDITIONAL ? "; give \"class\" instead" : "") + ")");
        if (m.kind() == ServedModel.Kind.TEXT_CONDITIONAL && prompt == null)
            throw ApiError.field("prompt", "required: " + m.name() + " is text-conditional");
        int[] classes = null;
        double guidance = Double.NaN;
        if (m.kind() == ServedModel.Kind.UNCONDITIONAL) {
            for (String f : List.of("class", "guidance"))
                if (body.has(f)) throw ApiError.field(f, m.name() + " is an unconditional model: it takes no " + f);
        } else {
            guidance = body.has("guidance") ? number(body, "guidance", 0, MAX_GUIDANCE) : m.defaultGuidance();
            if (m.kind() == ServedModel.Kind.CLASS_CONDITIONAL) classes = classes(body.get("class"), m, n);
            else if (body.has("class")) throw ApiError.field("class", m.name() + " is text-conditional: give \"prompt\"");
        }
        PolicySpec accel = AccelField.parse(body.get("accel"), m, steps);
        ImageRequest r = new ImageRequest(m, sched, resolved, n, seed, steps, guidance, classes, prompt, negative, accel, format);
        r.checkPolicy();
        return r;
    }

    /** The conditioning of this request's images (the CLI's --class / prompt embeddings), or null. */
    public Conditioning conditioning() {
        return switch (model.kind()) {
            case UNCONDITIONAL -> null;
            case CLASS_CONDITIONAL -> model.pipeline().classes().condition(classes, guidance);
            case TEXT_CONDITIONAL -> Conditioning.repeat(model.prompts().encode(prompt),
                    model.prompts().encode(negativePrompt == null ? "" : negativePrompt), guidance, numImages);
        };
    }

    /** This request's policy, seeded as generate seeds its one batch: (seed, "policy", "batch-0"). */
    public StepPolicy policy() {
        return accel.build(model.pipeline(), new NoiseSource(seed).fork("policy").fork("batch-0"), steps);
    }

    /** Builds and begins the policy once, so settings that only fail when a run starts are refused here. */
    private void checkPolicy() {
        try {
            StepPolicy p = policy();
            boolean guided = model.kind() != ServedModel.Kind.UNCONDITIONAL && guidance > 1;
            p.begin(new StepPolicy.RunInfo(steps, model.pipeline().latentShape(numImages), model.kind() != ServedModel.Kind.UNCONDITIONAL, guided));
        } catch (IllegalArgumentException e) {
            throw ApiError.field("accel", e.getMessage());
        }
    }

    private static void checkSteps(Schedulers.Resolved s, int steps) {
        try {
            Scheduler sc = s.create();
            sc.setTimesteps(steps);
        } catch (IllegalArgumentException e) {
            throw ApiError.field("steps", e.getMessage());
        }
    }

    /** One class per image from a name, an index, a list of them (cycled over the images) or "all", as --class. */
    private static int[] classes(JsonNode c, ServedModel m, int n) {
        var ce = m.pipeline().classes();
        List<String> names = new ArrayList<>();
        if (c == null || c.isNull()) names.add("all");
        else if (c.isArray()) {
            if (c.isEmpty()) throw ApiError.field("class", "an empty list names no class");
            for (JsonNode e : c) names.add(classToken(e));
        } else names.add(classToken(c));
        int[] idx = new int[n];
        try {
            if (names.size() == 1 && names.getFirst().equalsIgnoreCase("all")) {
                for (int k = 0; k < n; k++) idx[k] = k % ce.classNames().size();
            } else {
                for (int k = 0; k < n; k++) idx[k] = ce.indexOf(names.get(k % names.size()));
            }
        } catch (IllegalArgumentException e) {
            throw ApiError.field("class", e.getMessage());
        }
        return idx;
    }

    private static String classToken(JsonNode e) {
        if (e.isTextual()) return e.asText();
        if (e.isIntegralNumber() && e.canConvertToInt()) return Integer.toString(e.asInt());
        throw ApiError.field("class", "must be a class name, an index or a list of them, got " + kind(e));
    }

    static String string(JsonNode body, String f) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiError.field(f, "must be a string, got " + kind(v));
        if (v.asText().length() > 4096) throw ApiError.field(f, "longer than 4096 characters");
        return v.asText();
    }

    static int integer(JsonNode body, String f, int dflt, int min, int max) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw ApiError.field(f, "must be an integer " + min + ".." + max + ", got " + kind(v));
        int x = v.asInt();
        if (x < min || x > max) throw ApiError.field(f, "must be " + min + ".." + max + ", got " + x);
        return x;
    }

    static double number(JsonNode body, String f, double min, double max) {
        JsonNode v = body.get(f);
        if (!v.isNumber()) throw ApiError.field(f, "must be a number " + PolicySpec.num(min) + ".." + PolicySpec.num(max) + ", got " + kind(v));
        double x = v.asDouble();
        if (!(x >= min && x <= max)) throw ApiError.field(f, "must be " + PolicySpec.num(min) + ".." + PolicySpec.num(max) + ", got " + v);
        return x;
    }

    private static long longValue(JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToLong())
            throw ApiError.field("seed", "must be an integer between " + Long.MIN_VALUE + " and " + Long.MAX_VALUE + ", got " + kind(v));
        return v.asLong();
    }

    /** How a JSON value reads in an error message: its type and (short) text. */
    static String kind(JsonNode v) {
        if (v == null || v.isMissingNode()) return "nothing";
        String t = v.isTextual() ? "the string " : v.isNumber() ? "" : v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT) + " ";
        String s = v.toString();
        return t + (s.length() > 40 ? s.substring(0, 40) + "…" : s);
    }

    /** The loaded models by name; the first is the default. */
    public record Models(List<ServedModel> all) {
        public Models {
            if (all.isEmpty()) throw new IllegalArgumentException("no model to serve");
            all = List.copyOf(all);
            Map<String, ServedModel> seen = new java.util.HashMap<>();
            for (ServedModel m : all)
                if (seen.put(m.name(), m) != null) throw new IllegalArgumentException("two models are called '" + m.name() + "' (model names are folder names)");
        }

        public ServedModel defaultModel() {
            return all.getFirst();
        }

        public ServedModel get(String name) {
            return all.stream().filter(m -> m.name().equals(name)).findFirst().orElse(null);
        }

        public List<String> names() {
            return all.stream().map(ServedModel::name).toList();
        }
    }
}
