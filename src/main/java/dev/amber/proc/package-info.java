/**
 * Parsers of the text (and a few binary files) that the kernel shows under {@code /proc}.
 *
 * <p>Every parser is a pure static {@code parse(String)} (or {@code parse(byte[])}) returning an
 * immutable record, tested on fixture text, plus a {@code read(pid)} that reads the live file and
 * calls it. No native calls live here: only {@code java.nio.file} reads and string parsing.
 *
 * <p>Errors: a file that cannot be read throws {@link java.io.IOException} whose message starts
 * with the file ({@code /proc/4242/maps: No such file or directory (process gone?)}); text that
 * does not have the expected shape throws the unchecked {@link dev.amber.proc.ProcFormatException}
 * naming the file, the line and what was expected.
 *
 * <p>Text is decoded as UTF-8, the JVM's file-name encoding here, so that a path read from
 * {@code maps} or {@code fd/N} can be handed to {@code Path.of}; bytes that are not UTF-8 become
 * U+FFFD. To open the file behind a mapping or a descriptor, prefer {@code map_files} and
 * {@code pidfd_getfd}, which do not go through names at all.
 */
package dev.amber.proc;
