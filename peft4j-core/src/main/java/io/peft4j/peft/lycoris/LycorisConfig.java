package io.peft4j.peft.lycoris;

import io.peft4j.peft.ConfigWithCommonFields;

/** A LyCORIS method's config (LoHa, LoKr): HF's base fields, the shared {@link LycorisFields} and the method's own. */
public interface LycorisConfig extends ConfigWithCommonFields {

    LycorisFields lycoris();

    /** The same config with other shared fields. */
    LycorisConfig withLycoris(LycorisFields fields);
}
