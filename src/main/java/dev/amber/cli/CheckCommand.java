package dev.amber.cli;

import dev.amber.sys.KernelFeatures;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "check", description = "Probe the kernel features and privileges amber needs.")
final class CheckCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        KernelFeatures f = KernelFeatures.probe();
        String missing = Privileges.missing();
        System.out.printf("%-50s %s%n", "privileges (root, or CAP_CHECKPOINT_RESTORE+CAP_SYS_PTRACE)",
                missing == null ? "ok" : "MISSING: " + missing);
        for (KernelFeatures.Probe p : f.probes()) {
            System.out.printf("%-50s %s%s%n", p.name(), p.ok() ? "ok" : p.required() ? "MISSING" : "no",
                    p.ok() ? "" : " (" + p.detail() + ")");
        }
        boolean ready = missing == null && f.allRequired();
        System.out.println(ready ? "amber can checkpoint and restart on this machine"
                : "amber cannot work here: see MISSING above");
        return ready ? 0 : Main.FAILED;
    }
}
