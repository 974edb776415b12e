package dev.amber.image;

import java.io.Serial;

/**
 * A problem of the image itself (missing, truncated, corrupt, from a newer amber or another
 * machine) or of the place it is written to. The message is one line that names the file, what was
 * expected and what was found, and a remedy where there is one; it is meant to reach the user as
 * is.
 */
public final class ImageException extends Exception {
    @Serial private static final long serialVersionUID = 1L;

    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
