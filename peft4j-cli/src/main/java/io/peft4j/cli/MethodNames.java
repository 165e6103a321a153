package io.peft4j.cli;

import io.peft4j.cli.method.MethodCommandLines;
import java.util.Iterator;

/** The registered method names, for help texts ({@code ${COMPLETION-CANDIDATES}}). */
final class MethodNames implements Iterable<String> {

    @Override
    public Iterator<String> iterator() {
        return MethodCommandLines.names().iterator();
    }
}
