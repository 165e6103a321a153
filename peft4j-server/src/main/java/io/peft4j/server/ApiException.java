package io.peft4j.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.io.Json;

/**
 * An error answered in OpenAI's shape, {@code {"error": {"message", "type", "param", "code"}}}, with its HTTP status.
 * {@code code} is a string or null, as OpenAI sends it (the official SDKs read it as a string).
 */
public class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: what is wrong with the request, naming the field. */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message);
    }

    /** 404: no such model (base or adapter). */
    public static ApiException unknownModel(String model) {
        return new ApiException(
                404, "invalid_request_error", "model", "model_not_found", "The model `" + model + "` does not exist.");
    }

    public int status() {
        return status;
    }

    public ObjectNode body() {
        ObjectNode error = Json.MAPPER.createObjectNode();
        error.put("message", getMessage());
        error.put("type", type);
        if (param == null) {
            error.putNull("param");
        } else {
            error.put("param", param);
        }
        if (code == null) {
            error.putNull("code");
        } else {
            error.put("code", code);
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.set("error", error);
        return body;
    }
}
