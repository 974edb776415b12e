package dev.amber.proc;

import java.util.Map;
import java.util.Set;

/**
 * One area of {@code /proc/PID/smaps}: its maps line, its memory counters and its VmFlags.
 *
 * @param mapping the header line, parsed as a maps line
 * @param vmFlags the two-letter VmFlags codes ({@code rd wr ex sh mr mw me ms gd pf dw lo io sr rr
 *     dc de ac nr ht sf nl ar wf dd sd mm hg nh mg um uw ss ...}); see {@code man 5 proc_pid_smaps}
 * @param fields every numeric line by its label, with the {@code kB} unit dropped ({@code Size},
 *     {@code Locked}, {@code THPeligible}, {@code ProtectionKey}, ...), for what the named
 *     components do not cover
 */
public record SmapsEntry(
        MapsEntry mapping, long rssKb, long pssKb, long swapKb, long anonymousKb, Set<String> vmFlags,
        Map<String, Long> fields) {

    public SmapsEntry {
        vmFlags = Set.copyOf(vmFlags);
        fields = Map.copyOf(fields);
    }

    public long start() {
        return mapping.start();
    }

    public long end() {
        return mapping.end();
    }

    public boolean hasFlag(String code) {
        return vmFlags.contains(code);
    }
}
