package dev.amber.kind.oom;

import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The OOM killer's adjustment, {@code /proc/PID/oom_score_adj} (-1000..1000). A puppet starts
 * with Amber's; the saved value is written back from Amber. Raising it is allowed to anyone;
 * lowering it below the process's minimum needs CAP_SYS_RESOURCE, which Amber may lack: then the
 * restart goes on and says which value the process has instead.
 */
public final class OomKind implements ProcessKind {
    @Override
    public String name() {
        return "oom";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        ctx.process().setOomScoreAdj(read(ctx.pid()));
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        int want = ctx.process().getOomScoreAdj();
        if (read(ctx.pid()) == want) {
            return;
        }
        Path file = Path.of("/proc/" + ctx.pid() + "/oom_score_adj");
        try {
            Files.writeString(file, Integer.toString(want));
        } catch (IOException e) {
            System.err.println("amber: warning: pid " + ctx.pid() + ": oom_score_adj " + want + " could not be set ("
                    + e.getMessage() + "; lowering it needs CAP_SYS_RESOURCE): it is " + read(ctx.pid()));
        }
    }

    private static int read(int pid) throws IOException {
        return Integer.parseInt(Files.readString(Path.of("/proc/" + pid + "/oom_score_adj")).strip());
    }
}
