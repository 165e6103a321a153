package io.peft4j.spark;

import io.peft4j.model.ModelFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;

/** A local Spark (two task threads, a failed task tried again) on loopback, and small data for the tests. */
final class SparkFixtures {

    private SparkFixtures() {}

    static SparkSession spark() {
        return SparkSession.builder()
                .master("local[2,2]")
                .appName("peft4j-tests")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
    }

    static final String[] FOOD = {
        "We cooked pasta with tomato sauce",
        "The bakery sells fresh bread every morning",
        "She ordered soup and a salad",
        "Grilled fish with lemon is my favourite dinner",
        "He baked a chocolate cake",
        "The restaurant serves spicy noodles",
        "Breakfast was eggs, toast and coffee",
        "They picked apples for a pie",
        "The chef seasoned the steak",
        "We had pizza with mushrooms",
        "Rice and beans make a cheap meal",
        "The cheese was aged for a year"
    };
    static final String[] MONEY = {
        "The stock market fell sharply today",
        "Interest rates rose by half a point",
        "The bank approved the loan",
        "Investors sold their bonds",
        "The company reported record profits",
        "Inflation reduced household savings",
        "The central bank printed more money",
        "Shares of the firm doubled",
        "He paid off his mortgage early",
        "The budget deficit widened",
        "Currency markets were volatile",
        "The fund lost money on oil futures"
    };

    /** JSONL of text and label: examples {@code from} to {@code to} of each topic. */
    static Path jsonl(Path dir, String name, int from, int to) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = from; i < to; i++) {
            lines.add("{\"text\": \"" + FOOD[i] + "\", \"label\": \"food\"}");
            lines.add("{\"text\": \"" + MONEY[i] + "\", \"label\": \"finance\"}");
        }
        return Files.write(dir.resolve(name), lines);
    }

    /** all-MiniLM-L6-v2 with dropout off (its ONNX file linked, its config.json changed): training is then deterministic. */
    static Path minilmWithoutDropout(Path dir) throws IOException {
        Path bundled = ModelFiles.resolve("minilm").dir();
        Path out = Files.createDirectories(dir.resolve("minilm-no-dropout"));
        Files.createSymbolicLink(out.resolve("model.onnx"), bundled.resolve("model.onnx"));
        Files.createSymbolicLink(out.resolve("tokenizer.json"), bundled.resolve("tokenizer.json"));
        Files.writeString(
                out.resolve("config.json"),
                Files.readString(bundled.resolve("config.json"))
                        .replace("\"attention_probs_dropout_prob\": 0.1", "\"attention_probs_dropout_prob\": 0.0")
                        .replace("\"hidden_dropout_prob\": 0.1", "\"hidden_dropout_prob\": 0.0"));
        return out.resolve("model.onnx");
    }
}
