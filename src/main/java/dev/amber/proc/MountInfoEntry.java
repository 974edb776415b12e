package dev.amber.proc;

import java.util.List;

/**
 * One line of {@code /proc/PID/mountinfo}, with the kernel's octal escapes decoded.
 *
 * @param root the directory of the filesystem mounted here ({@code /} unless a bind mount)
 * @param options per-mount options ({@code rw,nosuid,relatime})
 * @param optionalFields propagation tags such as {@code shared:1}, {@code master:2},
 *     {@code propagate_from:3}, {@code unbindable}; possibly none
 * @param source filesystem-specific, {@code none} or empty when there is none
 * @param superOptions per-superblock options
 */
public record MountInfoEntry(
        int mountId,
        int parentId,
        int major,
        int minor,
        String root,
        String mountPoint,
        String options,
        List<String> optionalFields,
        String fsType,
        String source,
        String superOptions) {

    public MountInfoEntry {
        optionalFields = List.copyOf(optionalFields);
    }

    /** {@code "major:minor"} as the kernel prints it. */
    public String device() {
        return major + ":" + minor;
    }
}
