package io.peft4j.model;

import io.peft4j.peft.TargetModules;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A family's modules by {@link Role}: the module names Hugging Face PEFT's {@code target_modules} use for them
 * (matched as HF matches a list: the path equals a name or ends with "." + name), e.g. BERT's query
 * {@code query}, Llama's {@code q_proj}, GPT-2's fused {@code c_attn} for query, key and value.
 *
 * @param conv1dProjections whether HF's checkpoint keeps the projections as transformers' Conv1D, (in, out) (GPT-2)
 */
public record ModuleRoles(Map<Role, List<String>> names, boolean conv1dProjections) {

    public ModuleRoles {
        names = Map.copyOf(names);
    }

    /** The names of {@code roles}, each once, in the order given. */
    public List<String> of(Role... roles) {
        Set<String> out = new LinkedHashSet<>();
        for (Role r : roles) {
            out.addAll(names.getOrDefault(r, List.of()));
        }
        return List.copyOf(out);
    }

    /** The modules of {@code roles} as HF {@code target_modules}. */
    public TargetModules targets(Role... roles) {
        return TargetModules.of(of(roles).toArray(String[]::new));
    }

    /** Whether the module at {@code path} plays {@code role}. */
    public boolean is(Role role, String path) {
        return targets(role).matches(path);
    }

    /** Whether the module or parameter at {@code path} lies below a module of {@code role} (or is one). */
    public boolean within(Role role, String path) {
        String dotted = "." + path + ".";
        return names.getOrDefault(role, List.of()).stream().anyMatch(name -> dotted.contains("." + name + "."));
    }

    /** The index of the block a parameter or module path lies in, or -1. */
    public int blockIndex(String path) {
        for (String blocks : names.getOrDefault(Role.BLOCKS, List.of())) {
            Matcher m = Pattern.compile("(^|.*\\.)" + Pattern.quote(blocks) + "\\.(\\d+)(\\..*|$)")
                    .matcher(path);
            if (m.matches()) {
                return Integer.parseInt(m.group(2));
            }
        }
        return -1;
    }
}
