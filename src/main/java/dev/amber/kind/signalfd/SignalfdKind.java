package dev.amber.kind.signalfd;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Signalfd;
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
 * signalfd(2): the set of signals it reads and its status flags, from fdinfo:
 *
 * <pre>
 * flags:	04002                     O_RDWR | O_NONBLOCK, octal
 * sigmask:	0000000800000200          bit n-1 for signal n, hex (Linux 3.8 onwards)
 * </pre>
 *
 * The kernel keeps SIGKILL and SIGSTOP out of the mask, and prints the mask as given, not the
 * complement it stores. The signals a signalfd would read are the process's (or thread's)
 * pending signals, which the signal kind saves; this kind saves only the reader. Restored with
 * signalfd4(-1, &amp;mask, 8, flags).
 */
public final class SignalfdKind implements FdKind {
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    
    private static final int O_NONBLOCK = 04000;
    /** Status flags F_SETFL can change besides O_NONBLOCK: O_APPEND, O_ASYNC, O_NOATIME. */
    private static final int SETFL_OTHERS = 02000 | 020000 | 01000000;
    private static final int F_SETFL = 4;
    private static final int SIGSET_SIZE = 8;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.SIGNALFD;
    }

    @Override
    public boolean handles(String target) {
        return target.equals("anon_inode:[signalfd]");
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        List<String> mask = info.values("sigmask");
        if (mask.size() != 1) {
            ctx.refuse("fd " + fd, "signalfd", "expected one sigmask line in fdinfo, found " + mask.size()
                    + ": this kernel cannot tell which signals it reads (Linux 3.8 onwards prints it)");
            return;
        }
        long value;
        try {
            value = Long.parseUnsignedLong(mask.getFirst(), 16);
        } catch (NumberFormatException e) {
            throw new IOException("pid " + ctx.pid() + " fd " + fd + ": signalfd: fdinfo sigmask '" + mask.getFirst()
                    + "', expected a hexadecimal signal set");
        }
        d.setSignalfd(Signalfd.newBuilder().setMask(value).setFlags(info.flags()));
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        Signalfd s = d.getSignalfd();
        String what = "fd " + d.getFd() + " signalfd (mask 0x" + Long.toHexString(s.getMask()) + ")";
        byte[] mask = ByteBuffer.allocate(SIGSET_SIZE).order(ByteOrder.LITTLE_ENDIAN).putLong(s.getMask()).array();
        long fd = inj.check("signalfd4 " + what, Arch.SYS_SIGNALFD4, -1, inj.put(0, mask), SIGSET_SIZE,
                s.getFlags() & O_NONBLOCK);
        if ((s.getFlags() & SETFL_OTHERS) != 0) {
            inj.check("fcntl(F_SETFL) " + what, Arch.SYS_FCNTL, fd, F_SETFL, s.getFlags() & (SETFL_OTHERS | O_NONBLOCK));
        }
        return fd;
    }
}
