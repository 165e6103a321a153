package io.peft4j.peft.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Module;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TargetModules;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * HF PEFT's {@code add_weighted_adapter} for LoRA: a new adapter from weighted existing ones. The new
 * adapter has {@code lora_alpha = r}, so its scale is 1 and its factors carry the weights and scales.
 * <ul>
 *   <li>{@code CAT}: A = [w₁s₁A₁; w₂s₂A₂; …], B = [B₁ B₂ …], rank Σrᵢ — exactly Σ wᵢ·ΔWᵢ.</li>
 *   <li>{@code LINEAR}: A = Σ sign(wᵢsᵢ)√|wᵢsᵢ|·Aᵢ, B = Σ √|wᵢsᵢ|·Bᵢ (equal ranks; not Σ wᵢΔWᵢ in general).</li>
 *   <li>{@code SVD}: Σ wᵢ·ΔWᵢ truncated to the new rank by its singular value decomposition.</li>
 * </ul>
 */
public final class AdapterCombination {

    public enum Type {
        CAT,
        LINEAR,
        SVD
    }

    private AdapterCombination() {}

    /**
     * Adds adapter {@code name} to {@code peft}, combined from weighted existing LoRA adapters (HF PEFT's
     * {@code add_weighted_adapter}); {@code svdRank} may be null. The active adapter stays active.
     */
    public static void addWeightedAdapter(
            PeftModel peft, List<String> adapters, List<Double> weights, String name, Type type, Integer svdRank) {
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new IllegalArgumentException("need one weight per adapter, got " + adapters.size() + " adapters and "
                    + weights.size() + " weights");
        }
        List<LoraConfig> loras = new ArrayList<>();
        for (String a : adapters) {
            if (!(peft.configs().get(a) instanceof LoraConfig lc)) {
                throw new Peft4jException(
                        peft.configs().containsKey(a)
                                ? "adapter '" + a + "' is not a LoRA adapter"
                                : "no adapter named '" + a + "'; adapters: "
                                        + peft.configs().keySet());
            }
            loras.add(lc);
        }
        Type effective = adapters.size() == 1 ? Type.LINEAR : type;
        String previous = peft.activeAdapter();
        peft.addAdapter(name, config(loras, effective, svdRank));
        for (Module m : peft.model().namedModules().values()) {
            if (m instanceof LoraLinear layer && layer.adapterNames().contains(name)) {
                combine(layer, name, adapters, weights, effective);
            }
        }
        if (previous != null) {
            peft.setAdapter(previous);
        }
    }

    /** The config of the combined adapter. */
    static LoraConfig config(List<LoraConfig> configs, Type type, Integer svdRank) {
        for (LoraConfig c : configs) {
            if (c.useDora()) {
                throw new Peft4jException("combining DoRA adapters is not supported");
            }
        }
        List<Integer> ranks = configs.stream()
                .map(c -> c.rankPattern().values().stream().reduce(c.r(), Math::max))
                .toList();
        int rank = switch (type) {
            case LINEAR -> {
                if (new LinkedHashSet<>(ranks).size() != 1) {
                    throw new Peft4jException("LINEAR combination needs adapters of equal rank, got " + ranks);
                }
                yield ranks.get(0);
            }
            case CAT -> ranks.stream().mapToInt(Integer::intValue).sum();
            case SVD ->
                svdRank != null
                        ? svdRank
                        : ranks.stream().mapToInt(Integer::intValue).max().orElseThrow();
        };
        boolean regex = configs.get(0).targetModules().isRegex();
        if (configs.stream().anyMatch(c -> c.targetModules().isRegex() != regex)) {
            throw new Peft4jException("all adapters must give target_modules the same way (all lists or all regexes)");
        }
        TargetModules targets;
        if (regex) {
            targets = TargetModules.regex(String.join(
                    "|",
                    configs.stream()
                            .map(c -> "(" + c.targetModules().regex() + ")")
                            .toList()));
        } else {
            Set<String> names = new LinkedHashSet<>();
            configs.forEach(c -> names.addAll(c.targetModules().names()));
            targets = new TargetModules(new ArrayList<>(names), null);
        }
        return configs.get(0).toBuilder()
                .r(rank)
                .loraAlpha(rank)
                .useRslora(false)
                .rankPattern(Map.of())
                .alphaPattern(Map.of())
                .targetModules(targets)
                .loraDropout(0)
                .build();
    }

    /** Sets the factors of {@code target} in one layer from the given adapters with weights. */
    static void combine(LoraLinear layer, String target, List<String> adapters, List<Double> weights, Type type) {
        int rank = layer.rank(target);
        NDManager m = layer.manager();
        List<String> present = new ArrayList<>();
        List<Double> w = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            if (layer.adapterNames().contains(adapters.get(i))) {
                present.add(adapters.get(i));
                w.add(weights.get(i));
            }
        }
        int in = layer.inFeatures();
        int out = layer.outFeatures();
        double[][] a = new double[rank][in];
        double[][] b = new double[out][rank];
        switch (type) {
            case CAT -> {
                double[][][] stacked = stack(layer, present, w);
                for (int k = 0; k < stacked[0].length; k++) {
                    a[k] = stacked[0][k];
                    for (int o = 0; o < out; o++) {
                        b[o][k] = stacked[1][o][k];
                    }
                }
            }
            case LINEAR -> {
                for (int i = 0; i < present.size(); i++) {
                    double ws = w.get(i) * layer.scaling(present.get(i));
                    double fa = Math.sqrt(Math.abs(ws)) * Math.signum(ws);
                    double fb = Math.sqrt(Math.abs(ws));
                    addScaled(a, matrix(layer.lora("A", present.get(i)).weight().array()), fa);
                    addScaled(b, matrix(layer.lora("B", present.get(i)).weight().array()), fb);
                }
            }
            case SVD -> {
                // Σ wᵢ sᵢ Bᵢ Aᵢ as one product of stacked factors, then its exact truncated SVD.
                double[][][] stacked = stack(layer, present, w);
                int total = stacked[0].length;
                if (total > 0) {
                    LowRankSvd.Result svd = LowRankSvd.of(stacked[1], stacked[0]);
                    for (int k = 0; k < Math.min(rank, svd.s().length); k++) {
                        for (int o = 0; o < out; o++) {
                            b[o][k] = svd.u()[o][k] * svd.s()[k];
                        }
                        a[k] = svd.vt()[k].clone();
                    }
                }
            }
        }
        layer.setFactors(target, array(m, a), array(m, b));
    }

    /** [A, B] with A = [w₁s₁A₁; w₂s₂A₂; …] (Σr × in) and B = [B₁ B₂ …] (out × Σr): Σ wᵢsᵢBᵢAᵢ = B·A. */
    private static double[][][] stack(LoraLinear layer, List<String> adapters, List<Double> weights) {
        int total = adapters.stream().mapToInt(layer::rank).sum();
        double[][] as = new double[total][];
        double[][] bs = new double[layer.outFeatures()][total];
        int row = 0;
        for (int i = 0; i < adapters.size(); i++) {
            double[][] ai = matrix(layer.lora("A", adapters.get(i)).weight().array());
            double[][] bi = matrix(layer.lora("B", adapters.get(i)).weight().array());
            double f = weights.get(i) * layer.scaling(adapters.get(i));
            for (int k = 0; k < ai.length; k++, row++) {
                as[row] = new double[ai[k].length];
                for (int j = 0; j < ai[k].length; j++) {
                    as[row][j] = f * ai[k][j];
                }
                for (int o = 0; o < bi.length; o++) {
                    bs[o][row] = bi[o][k];
                }
            }
        }
        return new double[][][] {as, bs};
    }

    private static void addScaled(double[][] into, double[][] x, double f) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[0].length; j++) {
                into[i][j] += f * x[i][j];
            }
        }
    }

    private static double[][] matrix(NDArray x) {
        long rows = x.getShape().get(0);
        long cols = x.getShape().get(1);
        float[] flat = x.toFloatArray();
        double[][] out = new double[(int) rows][(int) cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i][j] = flat[(int) (i * cols + j)];
            }
        }
        return out;
    }

    private static NDArray array(NDManager m, double[][] x) {
        float[] flat = new float[x.length * x[0].length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[0].length; j++) {
                flat[i * x[0].length + j] = (float) x[i][j];
            }
        }
        return m.create(flat, new Shape(x.length, x[0].length)).duplicate();
    }
}
