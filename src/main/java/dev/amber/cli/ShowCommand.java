package dev.amber.cli;

import dev.amber.image.ImageDescriber;
import dev.amber.image.ImageException;
import dev.amber.image.ImageReader;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "show", description = "Decode an image: process, memory map, registers, signals, files.")
final class ShowCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "image directory")
    Path dir;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    @Override
    public Integer call() {
        try (ImageReader image = ImageReader.open(dir)) {
            System.out.print(json ? ImageDescriber.json(image) : ImageDescriber.text(image));
            return 0;
        } catch (ImageException e) {
            System.err.println("amber: " + e.getMessage());
            return Main.FAILED;
        }
    }
}
