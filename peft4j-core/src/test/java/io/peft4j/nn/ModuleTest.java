package io.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import io.peft4j.io.Weights;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleTest extends NativeTest {

    /** encoder.layer.{0,1}.{dense,norm} + head */
    static final class Tiny extends Module {
        static final class Block extends Module {
            Block(NDManager m) {
                super(m);
                addChild("dense", new Linear(m, 4, 3, true, 0.02f));
                addChild("norm", new LayerNorm(m, 3, 1e-5f));
            }
        }

        static final class Encoder extends Module {
            Encoder(NDManager m) {
                super(m);
                addChild("layer", new ModuleList<>(m, 2, i -> new Block(m)));
            }
        }

        Tiny(NDManager m) {
            super(m);
            addChild("encoder", new Encoder(m));
            addChild("head", new Linear(m, 3, 2, false, 0.02f));
        }
    }

    @Test
    void namesAreDottedPathsInRegistrationOrder() {
        Tiny tiny = new Tiny(manager);
        assertThat(tiny.namedParameters().keySet())
                .containsExactly(
                        "encoder.layer.0.dense.weight",
                        "encoder.layer.0.dense.bias",
                        "encoder.layer.0.norm.weight",
                        "encoder.layer.0.norm.bias",
                        "encoder.layer.1.dense.weight",
                        "encoder.layer.1.dense.bias",
                        "encoder.layer.1.norm.weight",
                        "encoder.layer.1.norm.bias",
                        "head.weight");
        assertThat(tiny.namedModules()).containsKeys("", "encoder", "encoder.layer", "encoder.layer.1.norm", "head");
        assertThat(tiny.stateDict().get("head.weight").getShape()).isEqualTo(new Shape(2, 3));
    }

    @Test
    void parameterCountsAndHuggingFaceLine() {
        Tiny tiny = new Tiny(manager);
        long perBlock = 4 * 3 + 3 + 3 + 3;
        assertThat(tiny.parameterCount()).isEqualTo(new ParameterCount(2 * perBlock + 6, 2 * perBlock + 6));
        tiny.freezeAll();
        tiny.unfreeze(name -> name.startsWith("head."));
        assertThat(tiny.parameterCount()).isEqualTo(new ParameterCount(6, 2 * perBlock + 6));
        tiny.freeze(name -> true);
        tiny.unfreeze(name -> name.endsWith(".bias"));
        assertThat(tiny.parameterCount().trainable()).isEqualTo(4 * 3); // dense and norm biases of two blocks
        assertThat(tiny.namedParameters().get("encoder.layer.0.dense.bias").isTrainable())
                .isTrue();
        assertThat(tiny.namedParameters().get("encoder.layer.0.dense.weight").isTrainable())
                .isFalse();
        // The exact line Hugging Face PEFT prints for GPT-2 with LoRA r=8 on c_attn.
        assertThat(new ParameterCount(294_912, 124_734_720).toString())
                .isEqualTo("trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364");
    }

    @Test
    void loadStateDictCopiesValuesByName() {
        Tiny source = new Tiny(manager);
        Tiny target = new Tiny(manager);
        Module.LoadReport report = target.loadStateDict(Weights.of(source.stateDict()), true);
        assertThat(report.missing()).isEmpty();
        assertThat(report.unexpected()).isEmpty();
        source.stateDict()
                .forEach((k, v) -> assertThat(target.stateDict().get(k).contentEquals(v))
                        .as(k)
                        .isTrue());
        // a copy, not an alias
        source.namedParameters().get("head.weight").set(manager.zeros(new Shape(2, 3)));
        assertThat(target.stateDict().get("head.weight").contentEquals(manager.zeros(new Shape(2, 3))))
                .isFalse();
    }

    @Test
    void strictLoadReportsMissingAndUnexpectedKeys() {
        Tiny target = new Tiny(manager);
        Map<String, NDArray> weights = new LinkedHashMap<>(new Tiny(manager).stateDict());
        weights.remove("head.weight");
        weights.put("encoder.layer.2.dense.weight", manager.zeros(new Shape(3, 4)));
        assertThatThrownBy(() -> target.loadStateDict(Weights.of(weights), true))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContainingAll("missing keys: head.weight", "unexpected keys: encoder.layer.2.dense.weight");
        Module.LoadReport report = target.loadStateDict(Weights.of(weights), false);
        assertThat(report.missing()).containsExactly("head.weight");
        assertThat(report.unexpected()).containsExactly("encoder.layer.2.dense.weight");
    }

    @Test
    void wrongShapeAlwaysFailsAndChangesNothing() {
        Tiny target = new Tiny(manager);
        NDArray before = target.stateDict().get("encoder.layer.0.dense.bias").duplicate();
        Map<String, NDArray> weights = new LinkedHashMap<>(new Tiny(manager).stateDict());
        weights.put("head.weight", manager.zeros(new Shape(3, 2)));
        assertThatThrownBy(() -> target.loadStateDict(Weights.of(weights), false))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("head.weight: checkpoint (3, 2), model (2, 3)");
        assertThat(target.stateDict().get("encoder.layer.0.dense.bias").contentEquals(before))
                .isTrue();
    }

    @Test
    void trainingFlagReachesEveryModule() {
        Tiny tiny = new Tiny(manager);
        tiny.setTraining(true);
        assertThat(tiny.namedModules().values()).allMatch(Module::isTraining);
        tiny.setTraining(false);
        assertThat(tiny.namedModules().values()).noneMatch(Module::isTraining);
    }
}
