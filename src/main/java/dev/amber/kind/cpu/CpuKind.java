package dev.amber.kind.cpu;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.InterruptedSyscall;
import dev.amber.image.proto.Thread;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TaskHandle;
import dev.amber.trace.Regs;
import dev.amber.trace.SyscallRestart;
import java.io.IOException;

/**
 * The CPU state of a thread: general registers (saved ready to resume: a call the task was
 * stopped in is set up to run again, see {@link InterruptedCalls}) and the whole XSAVE area
 * (x87, SSE, AVX, AVX-512, AMX: as many bytes as the kernel gives). The general registers are
 * set by the restart pipeline as its very last step; this kind restores XSAVE.
 */
public final class CpuKind implements ProcessKind {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        for (int i = 0; i < ctx.tasks().size(); i++) {
            dump(ctx.tasks().get(i), ctx.threads().get(i));
        }
    }

    private static void dump(TaskHandle task, Thread.Builder t) throws IOException {
        Regs regs = task.injector().savedRegs();
        long call = SyscallRestart.interruptedCall(regs, !task.tracee().heldSignals().isEmpty());
        Regs resumed = regs.with(dev.amber.sys.Arch.ORIG_RAX, -1);
        if (call >= 0) {
            InterruptedCalls.Resumption r = InterruptedCalls.forImage(regs);
            resumed = r.regs();
            t.setInterrupted(InterruptedSyscall.newBuilder()
                    .setNr(call)
                    .setResult(regs.get(dev.amber.sys.Arch.RAX))
                    .setResumedAs(r.description()));
        }
        t.setGpRegs(ByteString.copyFrom(resumed.toBytes()));
        t.setXsave(ByteString.copyFrom(task.tracee().xsave()));
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        for (int i = 0; i < ctx.tasks().size(); i++) {
            restore(ctx.tasks().get(i), ctx.process().getThreads(i));
        }
    }

    private static void restore(TaskHandle task, Thread thread) throws IOException {
        byte[] saved = thread.getXsave().toByteArray();
        byte[] here = task.tracee().xsave();
        if (here.length != saved.length) {
            throw new IOException("thread " + task.tid() + ": the image's XSAVE area is " + saved.length
                    + " bytes, this CPU's is " + here.length
                    + ": restart on a machine with the same CPU features");
        }
        task.tracee().setXsave(saved);
    }
}
