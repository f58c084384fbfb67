package jdiffusion.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A request the server answers with an error: the HTTP status, a stable code, the request field at fault
 * (null when no single field is) and a message a user can act on. Rendered as
 * {@code {"error": {"status", "code", "field", "message"}}}.
 */
public final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String code;
    private final String field;
    private final Integer retryAfterSeconds;

    public ApiError(int status, String code, String field, String message, Integer retryAfterSeconds) {
        super(message);
        this.status = status;
        this.code = code;
        this.field = field;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: a field of the request is missing, of the wrong type, out of range or not applicable. */
    public static ApiError field(String field, String message) {
        return new ApiError(400, "invalid_field", field, field + ": " + message, null);
    }

    public static ApiError of(int status, String code, String message) {
        return new ApiError(status, code, null, message, null);
    }

    /** The same error for a field renamed (e.g. "delta" inside "accel" → "accel.delta"). */
    public ApiError withField(String name) {
        String msg = getMessage().startsWith(field + ": ") ? name + getMessage().substring(field.length()) : getMessage();
        return new ApiError(status, code, name, msg, retryAfterSeconds);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public String field() {
        return field;
    }

    /** Seconds for the Retry-After header (429, 503), or null. */
    public Integer retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public ObjectNode toJson() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode e = root.putObject("error");
        e.put("status", status);
        e.put("code", code);
        if (field != null) e.put("field", field);
        e.put("message", getMessage());
        return root;
    }
}
