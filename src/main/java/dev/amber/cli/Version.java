package dev.amber.cli;

import dev.amber.image.ImageFormat;
import picocli.CommandLine.IVersionProvider;

/** The tool's version and the image format it writes. */
public final class Version implements IVersionProvider {
    public static final String TOOL = "0.1.0";

    @Override
    public String[] getVersion() {
        return new String[] {"amber " + TOOL + " (image format " + ImageFormat.version() + ")"};
    }
}
