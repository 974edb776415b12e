package dev.amber.image;

import java.nio.ByteBuffer;

/** Writes an image straight into one stream (see {@link StreamEncoder}): nothing touches disk. */
final class StreamTarget implements ImageTarget {
    private final StreamEncoder encoder;

    StreamTarget(StreamEncoder encoder) throws ImageException {
        this.encoder = encoder;
        encoder.header();
    }

    @Override
    public FileOutput create(String name) {
        return new FileOutput(name) {
            @Override
            void writeRaw(ByteBuffer piece) throws ImageException {
                encoder.chunk(name, piece);
            }

            @Override
            void closeRaw() throws ImageException {
                if (size() == 0) {
                    encoder.chunk(name, ByteBuffer.allocate(0)); // so that the reader sees the file at all
                }
            }
        };
    }

    @Override
    public long commit(byte[] inventory) throws ImageException {
        encoder.trailer(inventory);
        return encoder.bytes();
    }

    /** Bytes already sent cannot be taken back: tell the reader to throw them away. */
    @Override
    public void abort() {
        try {
            encoder.abort();
        } catch (ImageException e) {
            // The stream is broken anyway; its reader sees it end without a trailer.
        }
    }
}
