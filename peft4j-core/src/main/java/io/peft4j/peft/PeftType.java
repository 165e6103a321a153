package io.peft4j.peft;

/**
 * The {@code peft_type} values of Hugging Face PEFT that peft4j reads or writes, and peft4j's own for the
 * methods HF PEFT does not have ({@link #BOTTLENECK} adapters and {@link #SELECTIVE} tuning).
 */
public enum PeftType {
    LORA, IA3, PROMPT_TUNING, PREFIX_TUNING, P_TUNING, ADALORA, LN_TUNING, LOHA, LOKR, OFT, VERA,
    /** peft4j: Houlsby, Pfeiffer and parallel (AdaptFormer) bottleneck adapters. */
    BOTTLENECK,
    /** peft4j: training a chosen subset of the model's own parameters (BitFit, LN-tuning, partial-k, full, fixed). */
    SELECTIVE
}
