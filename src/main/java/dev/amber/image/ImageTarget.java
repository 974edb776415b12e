package dev.amber.image;

/**
 * Where an {@link ImageWriter} puts an image: a directory ({@link DirectoryTarget}) or a single
 * stream ({@link StreamTarget}). Files are created in writing order; the inventory comes last.
 */
sealed interface ImageTarget permits DirectoryTarget, StreamTarget {
    FileOutput create(String name) throws ImageException;

    /** Writes the encoded inventory, after every file is closed; returns the total bytes written. */
    long commit(byte[] inventory) throws ImageException;

    /** Undoes what can be undone; never throws. */
    void abort();
}
