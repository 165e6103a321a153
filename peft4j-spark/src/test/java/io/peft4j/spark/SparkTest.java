package io.peft4j.spark;

import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** A test class with a local Spark session ({@link SparkFixtures#spark()}) for its tests, and a directory of its own. */
abstract class SparkTest {

    static SparkSession spark;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        spark = SparkFixtures.spark();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }
}
