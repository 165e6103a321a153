package io.peft4j.io;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Output compared with Python's own json.dumps(indent=2, sort_keys=True), stored as a fixture. */
class PythonJsonTest {

    @Test
    void matchesPythonJsonDumpsByteForByte() throws IOException {
        Map<String, Object> input = Json.MAPPER.readValue(resource("python-json-input.json"), new TypeReference<>() {});
        assertThat(PythonJson.write(input)).isEqualTo(resource("python-json-expected.txt"));
    }

    @Test
    void floatReprFollowsPython() {
        assertThat(PythonJson.pythonRepr(0.1)).isEqualTo("0.1");
        assertThat(PythonJson.pythonRepr(1e-5)).isEqualTo("1e-05");
        assertThat(PythonJson.pythonRepr(16.0)).isEqualTo("16.0");
        assertThat(PythonJson.pythonRepr(-0.0)).isEqualTo("-0.0");
        assertThat(PythonJson.pythonRepr(1.5e300)).isEqualTo("1.5e+300");
        assertThat(PythonJson.pythonRepr(1234567890123456.0)).isEqualTo("1234567890123456.0");
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = PythonJsonTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
