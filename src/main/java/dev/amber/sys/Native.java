package dev.amber.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The one place that looks up C functions. Every call captures errno into a buffer of the
 * calling thread's own (JDK 25 copies the capture buffer into errno before the call too, so a
 * shared buffer would leak one thread's errno into another's call), zeroed before each call.
 */
final class Native {
    static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURE_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    /** {@code long syscall(long number, ...)}: six register arguments, all passed as longs. */
    static final MethodHandle syscall$mh = lookup("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG),
            true, Linker.Option.firstVariadicArg(1));

    private Native() {}

    static MethodHandle lookup(String name, FunctionDescriptor fd, boolean captureErrno, Linker.Option... more) {
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new IllegalStateException("libc has no symbol " + name));
        Linker.Option[] options = more;
        if (captureErrno) {
            options = new Linker.Option[more.length + 1];
            options[0] = Linker.Option.captureCallState("errno");
            System.arraycopy(more, 0, options, 1, more.length);
        }
        return LINKER.downcallHandle(symbol, fd, options);
    }

    /** The calling thread's errno capture buffer, with errno zeroed. */
    static MemorySegment errnoBuffer() {
        MemorySegment buffer = CAPTURE_BUFFER.get();
        ERRNO.set(buffer, 0L, 0);
        return buffer;
    }

    static int errno(MemorySegment buffer) {
        return (int) ERRNO.get(buffer, 0L);
    }

    static final FunctionDescriptor INT_OF_ADDR = FunctionDescriptor.of(JAVA_INT, ADDRESS);
}
