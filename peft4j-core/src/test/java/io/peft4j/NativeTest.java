package io.peft4j;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base for tests that use native arrays: one manager per test class, closed at the end, fixed seed. */
public abstract class NativeTest {

    protected static NDManager manager;

    @BeforeAll
    static void openManager() {
        manager = NDManager.newBaseManager();
        Engine.getInstance().setRandomSeed(1234);
    }

    @AfterAll
    static void closeManager() {
        manager.close();
    }
}
