package io.peft4j.peft;

/** The {@code peft_type} values of Hugging Face PEFT that peft4j reads or writes. */
public enum PeftType {
    LORA, IA3, PROMPT_TUNING, PREFIX_TUNING, P_TUNING, ADALORA, LN_TUNING, LOHA, LOKR, OFT, VERA
}
