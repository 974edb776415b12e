package dev.amber.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code amber} command. Exit status: 0 done, 1 failed, 2 bad usage, 3 refused. */
@Command(name = "amber", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Checkpoint/restart for Linux processes.",
        subcommands = {CheckpointCommand.class, RestartCommand.class, ShowCommand.class, CheckCommand.class,
                DemoCommand.class, TrainCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    public static final int FAILED = 1, USAGE = 2, REFUSED = 3;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            System.err.println("amber: internal error: " + e);
            e.printStackTrace();
            return FAILED;
        });
        System.exit(cl.execute(args));
    }
}
