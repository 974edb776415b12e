package dev.amber.kind.eventfd;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Eventfd;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * eventfd(2): a 64-bit counter, its semaphore mode and its status flags, all read from fdinfo
 * while the process is stopped, so the counter cannot move under the dump:
 *
 * <pre>
 * flags:	02004002            O_RDWR | O_NONBLOCK | O_CLOEXEC, octal
 * eventfd-count:       123456789f    hex, right-aligned (Linux 3.8 onwards)
 * eventfd-id: 4                      an ida number the kernel picks: not saved, cannot be chosen
 * eventfd-semaphore: 1               EFD_SEMAPHORE (Linux 6.5 onwards)
 * </pre>
 *
 * EFD_SEMAPHORE is not among the file's flags, so without the semaphore line the mode cannot be
 * told and the descriptor is refused. Restored with eventfd2(count, flags); eventfd2 takes an
 * unsigned int, so a larger count (at most 2^64 - 2) is written into a zero counter instead.
 */
public final class EventfdKind implements FdKind {
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    
    private static final int EFD_SEMAPHORE = 1, O_NONBLOCK = 04000;
    /** Status flags F_SETFL can change besides O_NONBLOCK: O_APPEND, O_ASYNC, O_NOATIME. */
    private static final int SETFL_OTHERS = 02000 | 020000 | 01000000;
    private static final int F_SETFL = 4;
    private static final long UINT_MAX = 0xffff_ffffL;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.EVENTFD;
    }

    @Override
    public boolean handles(String target) {
        return target.equals("anon_inode:[eventfd]");
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        List<String> count = info.values("eventfd-count");
        List<String> semaphore = info.values("eventfd-semaphore");
        if (count.size() != 1 || semaphore.size() != 1) {
            ctx.refuse("fd " + fd, "eventfd", "expected one eventfd-count and one eventfd-semaphore line in fdinfo,"
                    + " found " + count + " and " + semaphore + ": this kernel cannot tell the counter or its"
                    + " semaphore mode (Linux 6.5 onwards prints both)");
            return;
        }
        if (!semaphore.getFirst().equals("0") && !semaphore.getFirst().equals("1")) {
            throw new IOException("pid " + ctx.pid() + " fd " + fd + ": eventfd: fdinfo eventfd-semaphore '"
                    + semaphore.getFirst() + "', expected 0 or 1");
        }
        long value;
        try {
            value = Long.parseUnsignedLong(count.getFirst(), 16);
        } catch (NumberFormatException e) {
            throw new IOException("pid " + ctx.pid() + " fd " + fd + ": eventfd: fdinfo eventfd-count '"
                    + count.getFirst() + "', expected a hexadecimal counter");
        }
        d.setEventfd(Eventfd.newBuilder()
                .setCount(value)
                .setFlags(info.flags())
                .setSemaphore(semaphore.getFirst().equals("1")));
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        Eventfd e = d.getEventfd();
        String what = "fd " + d.getFd() + " eventfd";
        boolean fits = Long.compareUnsigned(e.getCount(), UINT_MAX) <= 0;
        int flags = (e.getFlags() & O_NONBLOCK) | (e.getSemaphore() ? EFD_SEMAPHORE : 0);
        long fd = inj.check("eventfd2 " + what, Arch.SYS_EVENTFD2, fits ? e.getCount() : 0, flags);
        if (!fits) {
            // The counter is 0, so the write neither blocks nor overflows (the image's count < 2^64 - 1).
            byte[] count = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(e.getCount()).array();
            long n = inj.check("write count 0x" + Long.toHexString(e.getCount()) + " to " + what, Arch.SYS_WRITE,
                    fd, inj.put(0, count), 8);
            if (n != 8) {
                throw new IOException("pid " + ctx.pid() + " " + what + ": writing the count wrote " + n
                        + " bytes, expected 8");
            }
        }
        if ((e.getFlags() & SETFL_OTHERS) != 0) {
            inj.check("fcntl(F_SETFL) " + what, Arch.SYS_FCNTL, fd, F_SETFL,
                    e.getFlags() & (SETFL_OTHERS | O_NONBLOCK));
        }
        return fd;
    }
}
