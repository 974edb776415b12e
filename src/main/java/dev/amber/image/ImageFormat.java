package dev.amber.image;

import dev.amber.sys.Arch;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The one place that defines the image format: its version, its file names and its limits.
 *
 * <p>The format version is independent of the tool version. A reader accepts an image with the
 * same major and an equal or older minor: a minor bump may only add fields or files that an older
 * reader can ignore; anything else is a major bump.
 */
public final class ImageFormat {
    public static final int MAJOR = 1;
    public static final int MINOR = 0;

    /** The inventory: written last, read first. Its presence is what makes a directory an image. */
    public static final String INVENTORY = "inventory.pb";

    /** Metadata files (and the inventory) larger than this are refused, never allocated. */
    public static final long MAX_METADATA_BYTES = 64L << 20;

    /** Page files hold whole pages; every {@link PageSink#append} starts at a multiple of this. */
    public static final int PAGE_SIZE = Arch.PAGE_SIZE;

    /** Write and read granularity, and the largest data chunk of an image stream. */
    public static final int CHUNK_BYTES = 1 << 20;

    /** Names are plain file names: no separators, no leading dot (those are ours: temp files). */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

    private ImageFormat() {}

    public static String version() {
        return MAJOR + "." + MINOR;
    }

    public static String processFile(int pid) {
        return "process-" + pid + ".pb";
    }

    public static String pagesFile(int pid) {
        return "pages-" + pid + ".img";
    }

    /** Metadata files are protobuf messages, read whole and therefore bounded. */
    public static boolean isMetadata(String name) {
        return name.endsWith(".pb");
    }

    /** Files a reader cares about: anything else in the directory (logs, notes) is ignored. */
    static boolean matters(String name) {
        return name.endsWith(".pb") || name.endsWith(".img");
    }

    /** Checks a name given by the tool itself: a bad one is our bug, not the user's. */
    static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches() || name.equals(INVENTORY)) {
            throw new IllegalArgumentException("bad image file name: " + name);
        }
        return name;
    }

    /** The architecture as uname -m names it, which is what images record. */
    public static String hostArch() {
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        return switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
    }

    /** The reader's version rule, against a given reader version so that tests can move it. */
    static void checkCompatible(int major, int minor, int readerMajor, int readerMinor)
            throws ImageException {
        String image = major + "." + minor;
        String ours = readerMajor + "." + readerMinor;
        if (major > readerMajor || (major == readerMajor && minor > readerMinor)) {
            throw new ImageException(
                    "image format " + image + " is newer than this amber reads (" + ours
                            + "): use a newer amber");
        }
        if (major < readerMajor) {
            throw new ImageException(
                    "image format " + image + " is older than this amber reads (" + ours
                            + "): use the amber release that wrote it");
        }
    }
}
